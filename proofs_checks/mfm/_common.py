"""Tolerance reasons and labels shared by the judges of the exact ``mfm/`` claims."""

from __future__ import annotations

FOUR_SE = "4 standard errors of the Monte Carlo mean (false-alarm rate ~6e-5 per comparison)"
DOP853 = "DOP853 rtol 1e-12 on a smooth affine ODE"


def tag(rho: float, phi: float) -> str:
    return f"rho={rho}, phi={phi:.3f}"
