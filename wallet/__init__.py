"""wallet role."""
