"""NumPy / SciPy / mpmath / PyTorch engines (float64 unless stated)."""
