"""Figures of the `mfm/` paper (one function per figure)."""

from __future__ import annotations
