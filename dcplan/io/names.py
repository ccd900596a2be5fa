"""How catalog names are compared: one normal form for names typed by people and files."""

from __future__ import annotations


def normalise(name: str) -> str:
    """Lowercase, spaces and underscores to hyphens: 'H100 SXM' -> 'h100-sxm'."""
    return "-".join(str(name).strip().lower().replace("_", " ").split())
