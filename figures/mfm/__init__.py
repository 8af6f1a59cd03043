"""Figures of the ``mfm/`` claims, one module per topic (the same names as the measurements and judges)."""
