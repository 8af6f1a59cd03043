r"""Measurements of the shared Gaussian closed forms (``common/`` claims): W2 and KL.

Each function draws its cases from the run's seed, evaluates the closed form under test (passed
in, so a negative control can pass a wrong one) and an independent computation (POT, Monte
Carlo, mpmath at 50 digits, a second-order expansion), and returns both.

One module per topic, the same names as the judges in :mod:`proofs_checks.common`: ``w2`` (the
Bures–Wasserstein closed form) and ``kl`` (the Gaussian KL).
"""
