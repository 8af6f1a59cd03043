"""What the ``merger-goldt/`` judges share: the Monte Carlo criterion and wrong forms used by several controls."""

from __future__ import annotations

from numerics import linear_diffusion as ld
from proofs_checks.evidence import Evidence

FOUR_SE = "Monte Carlo: 4 standard errors (false-alarm rate ~6e-5 per comparison)"


def within_four_se(ev: Evidence, name: str, z, note: str, headline: bool = False) -> bool:
    """``|MC - closed form| / SE <= 4`` for every entry of ``z``; ``note`` names the Monte Carlo sizes."""
    return ev.at_most(name, z, 4.0, basis="statistical", why=f"{FOUR_SE}; {note}", headline=headline)


# -------------------------------------------------------------------------- wrong forms (controls)
def ho_schedule(T: int) -> ld.Schedule:
    """Ho et al.'s schedule, :math:`\\beta_{\\max}=0.02`, in place of the paper's :math:`10^{-2}`."""
    return ld.beta_schedule(T, beta_max=0.02)


def kl_directions_swapped(f, u, lam, mean_gen=None, mean_target=None, direction="forward", part="cov", norm="per_dim"):
    """KL(target || gen) where KL(gen || target) is asked for, and vice versa."""
    other = "reverse" if direction == "forward" else "forward"
    return ld.kl_divergence(f, u, lam, mean_gen, mean_target, other, part, norm)
