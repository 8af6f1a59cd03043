"""What the ``common/`` judges share."""

from __future__ import annotations

FOUR_SE = "Monte Carlo: 4 standard errors (false-alarm rate ~6e-5 per comparison)"
