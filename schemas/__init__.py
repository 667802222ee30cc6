"""Credential models, JSON Schemas, the JSON-LD context registry and validation. No I/O."""
