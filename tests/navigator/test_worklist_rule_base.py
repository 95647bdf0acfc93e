"""How a worklist row writes a day (navigator/worklist/rule_base.py `day_label`): the
same words for a page's rows (`days_of_one_page`, the language and time zone read once)
as one at a time, in any language and time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone, translation

from navigator.worklist.rule_base import Moment, day_label, days_of_one_page

MOMENT = Moment(today=dt.date(2026, 11, 24), now=dt.datetime(2026, 11, 24, 19, tzinfo=dt.UTC))
VALUES = [
    dt.date(2026, 11, 3),
    dt.date(2026, 11, 3),  # a day met again: its words kept
    dt.date(2025, 12, 31),
    dt.datetime(2026, 11, 25, 3, 30, tzinfo=dt.UTC),  # the 24th in Boston, the 25th in UTC
    dt.datetime(2027, 1, 1, 4, 59, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("language", ["en", "es", "zh-hans"])
@pytest.mark.parametrize("zone", ["America/New_York", "UTC", "Asia/Tokyo"])
def test_a_pages_days_read_as_each_day_alone(language, zone):
    # Given a language and a time zone
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        # When days are written one at a time, and as a page's
        alone = [day_label(value, MOMENT) for value in VALUES]
        with days_of_one_page():
            paged = [day_label(value, MOMENT) for value in VALUES]

    # Then they read the same
    assert paged == alone


def test_outside_a_page_each_day_reads_the_language_then_active():
    # Given a page's days written in Spanish
    with translation.override("es"), days_of_one_page():
        inside = day_label(dt.date(2026, 1, 6), MOMENT)
    # When a day is written afterwards in English
    with translation.override("en"):
        after = day_label(dt.date(2026, 1, 6), MOMENT)
    # Then each reads its own language
    assert inside == "6 Ene"
    assert after == "6 Jan"
