"""One mapping module per output format, each from the models in schemas/learning.py."""
