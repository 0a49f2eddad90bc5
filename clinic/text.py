"""A marker for texts in modules without Flask (pure rules): extracted for translation, and
translated where they are shown, with `_(text)`."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark `message` for the catalogue; returns it unchanged (English)."""
    return message
