"""Make any value read from a table storable as JSON (the rows live in a JSON column)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import uuid
from collections.abc import Mapping
from typing import Any

from .text import storable_text

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` as None, bool, int, float, str, list or dict.

    NaN and infinities (missing values in pandas/Arrow) become None; dates and
    times ISO 8601 text; decimals numbers; bytes UTF-8 text when they are
    text, else ``base64:...``; numpy scalars their Python value.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        if value != value:  # NaN-likes: numpy.nan, pandas.NaT (a datetime)
            return None
    except (TypeError, ValueError, ArithmeticError):  # arrays compare element-wise
        pass
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return storable_text(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {storable_text(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    # numpy scalars and arrays expose .tolist() (a Python value or list), other
    # date-likes .isoformat(); duck typing spares this module importing them.
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
