"""Checks of the `gao-li/` claims (one registered check per claim id)."""

from __future__ import annotations
