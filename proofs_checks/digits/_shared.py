"""What the ``digits/`` judges share."""

from __future__ import annotations

"""Level of every hypothesis test at a fixed seed: a true null fails with probability 1%."""


K_SE = 4.0


"""Monte Carlo agreement within 4 standard errors (a two-sided normal tail of 6e-5)."""
