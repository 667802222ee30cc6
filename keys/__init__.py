"""Keys, DIDs, JOSE, SD-JWT and Data Integrity: sign and verify. No web, no global state."""
