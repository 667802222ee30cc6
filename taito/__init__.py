"""Composes the application: settings, database, create_app(), CLI. Nothing imports it."""
