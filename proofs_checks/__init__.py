"""Claim registry, one module of checks per paper, and the ``memgen`` command."""
