"""Turning user-given durations (seconds or timedelta, None or inf for 'none') into floats."""

from __future__ import annotations

import math
from datetime import timedelta

from fsm._errors import FSMError

Duration = float | int | timedelta | None


def to_seconds(value: Duration, what: str) -> float | None:
    """Seconds as a float, or None for "no timeout"; a clear FSMError for anything else."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FSMError(f"{what} must be a number of seconds or a datetime.timedelta, got {value!r}")
    else:
        seconds = float(value)
    if math.isnan(seconds):
        raise FSMError(f"{what} must be a number of seconds, got NaN")
    if seconds < 0:
        raise FSMError(f"{what} must not be negative, got {value!r}; use 0 for 'at once'")
    if math.isinf(seconds):
        return None
    return seconds
