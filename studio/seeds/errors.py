"""The one error type for an uploaded file that cannot be used."""

from __future__ import annotations

__all__ = ["SeedFileError"]


class SeedFileError(ValueError):
    """An uploaded table or document was refused; the message tells the user what to fix."""
