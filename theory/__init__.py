"""SymPy derivations; each module exposes lambdified NumPy functions, built once and cached."""
