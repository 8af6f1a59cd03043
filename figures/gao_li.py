"""Figures of the `gao-li/` paper (one function per figure)."""

from __future__ import annotations
