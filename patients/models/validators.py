"""Field validators of patient and screening models.

Migrations name them as `patients.models.validate_*`: `patients/models/__init__.py` keeps
those paths working.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils import timezone


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() scans the tz database on disk each call: once is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(f"“{value}” is not a known IANA time zone.", code="invalid_time_zone")


def validate_not_in_future(value: dt.date) -> None:
    if value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future_date")
