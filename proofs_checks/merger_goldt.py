"""Checks of the `merger-goldt/` claims (one registered check per claim id)."""

from __future__ import annotations
