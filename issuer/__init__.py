"""issuer role."""
