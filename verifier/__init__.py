"""verifier role."""
