"""Figures of the `merger-goldt/` paper (one function per figure)."""

from __future__ import annotations
