"""Layer 1 utilities: validation helpers and parameter constraints (NumPy only)."""
