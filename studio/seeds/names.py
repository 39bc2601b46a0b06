"""Turn a table's column headers into names templates can use (``{{ first_name }}``)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from studio.schema.base import RESERVED_NAMES

__all__ = ["normalise_names"]

_NOT_NAME = re.compile(r"[^a-z0-9_]+")
# Leaves room for a reserved-word '_' and a '_1000' suffix within the
# 64-character name limit.
_MAX_BASE = 58


def _normalise(raw: str, position: int) -> str:
    # NFKD splits 'é' into 'e' + accent, so 'Année' becomes 'annee', not 'ann_e'.
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    name = _NOT_NAME.sub("_", ascii_text.strip().lower()).strip("_")[:_MAX_BASE].rstrip("_")
    if not name:
        return f"column_{position + 1}"
    if name[0].isdigit():
        name = f"col_{name}"[:_MAX_BASE]
    if name in RESERVED_NAMES:
        # 'index', 'class', 'range' cannot be template variables.
        name = f"{name}_"
    return name


def normalise_names(raw_names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Valid, unique names for the headers, and ``{original: new}`` for each one changed.

    Lowercase, anything but letters/digits/underscores → '_', a leading digit
    gets 'col_', reserved words get a trailing '_', duplicates get '_2', '_3'...
    A repeated original header is reported as ``'name' (column 3)``.
    """
    names: list[str] = []
    taken: set[str] = set()
    renamed: dict[str, str] = {}
    repeated = {raw for raw, n in Counter(raw_names).items() if n > 1}
    for position, raw in enumerate(raw_names):
        base = _normalise(str(raw), position)
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        names.append(name)
        taken.add(name)
        if name != raw:
            key = f"{raw} (column {position + 1})" if raw in repeated else str(raw)
            renamed[key] = name
    return names, renamed
