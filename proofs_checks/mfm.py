"""Checks of the `mfm/` claims (one registered check per claim id)."""

from __future__ import annotations
