"""`config.date_format.format_date` shows what `{{ value|date:fmt }}` shows: compared
with the template engine itself on dates and datetimes across years, months, hours
(midnight, noon, the hour either side) and time zones (aware in UTC and elsewhere,
naive), in English and other languages, for the worklist's formats and others that
take the fast path or fall back to Django's filter; and on values the filter refuses
or passes over (None, "", a string, a time, a date with a time format)."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from config.date_format import DateWriter, format_date

FORMATS = [
    # The worklist's (rows, reasons, reminders, tasks, covering).
    "c",
    "Y-m-d",
    "j M",
    "j M, g:i A",
    "M j, Y",
    "M j",
    # Every fast character, and some the filter alone writes.
    "Y y m n d j M g G h H i s A",
    "D, j F Y",
    r"j \o\f M",
    "N jS",
    "",
    "DATE_FORMAT",
    "SHORT_DATE_FORMAT",
]

_DATES = [
    dt.date(y, m, d) for y, m, d in itertools.product((1999, 2026, 2), range(1, 13), (1, 9, 28))
]
_TIMES = [
    dt.time(h, mi, s, us)
    for h, mi, s, us in [
        (0, 0, 0, 0),
        (0, 5, 9, 0),
        (11, 59, 59, 1),
        (12, 0, 0, 0),
        (12, 30, 0, 123456),
        (13, 1, 2, 0),
        (23, 59, 0, 0),
    ]
]
_ZONES = [dt.UTC, zoneinfo.ZoneInfo("America/New_York"), zoneinfo.ZoneInfo("Asia/Kolkata")]


def _datetimes() -> list[dt.datetime]:
    values = []
    for day, time in zip(itertools.cycle(_DATES), _TIMES * 6, strict=False):
        naive = dt.datetime.combine(day, time)
        values.append(naive)
        values += [naive.replace(tzinfo=zone) for zone in _ZONES]
    # The autumn hour New York lives twice, and the spring hour it skips.
    values += [
        dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC),
    ]
    return values


def _by_template(value, fmt: str) -> str:
    return Template("{% autoescape off %}{{ value|date:fmt }}{% endautoescape %}").render(
        Context({"value": value, "fmt": fmt})
    )


@pytest.mark.parametrize("language", ["en-us", "es", "fr", "de"])
@pytest.mark.parametrize("zone", ["America/New_York", "UTC"])
def test_the_same_as_the_date_filter(language: str, zone: str) -> None:
    values = [*_DATES, *_datetimes()]
    compared = 0
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        for value, fmt in itertools.product(values, FORMATS):
            try:
                expected = _by_template(value, fmt)
            except TypeError:
                # A date given a time format: the filter raises, and so does this.
                with pytest.raises(TypeError):
                    format_date(value, fmt)
                continue
            assert format_date(value, fmt) == expected, (value, fmt)
            compared += 1
    assert compared > 3000


def test_month_words_follow_the_language() -> None:
    day = dt.date(2026, 3, 3)
    assert format_date(day, "j M") == "3 Mar"
    with translation.override("de"):
        assert format_date(day, "j M") == _by_template(day, "j M") != "3 Mar"
    assert format_date(day, "j M") == "3 Mar"


@pytest.mark.parametrize("value", [None, "", "2026-01-02", dt.time(9, 30)])
def test_other_values_as_the_filter(value) -> None:
    for fmt in FORMATS:
        try:
            expected = _by_template(value, fmt)
        except (TypeError, AttributeError):
            with pytest.raises((TypeError, AttributeError)):
                format_date(value, fmt)
            continue
        assert format_date(value, fmt) == expected, (value, fmt)


@pytest.mark.parametrize("language", ["en-us", "es"])
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_a_pages_date_writer_writes_what_format_date_writes(language: str, zone: str) -> None:
    """DateWriter (one per page: the language and zone read once, a date's answer kept)
    agrees with format_date on every value and format, written twice over, the same
    datetime twice in a row and a date refused with a time format included."""
    values = [*_DATES, *_datetimes(), None, "", "2026-01-02", dt.time(9, 30)]
    compared = 0
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        writer = DateWriter()
        for _ in range(2):
            for value, fmt in itertools.product(values, FORMATS):
                try:
                    expected = format_date(value, fmt)
                except (TypeError, AttributeError) as refused:
                    with pytest.raises(type(refused)):
                        writer(value, fmt)
                    continue
                assert writer(value, fmt) == expected, (value, fmt)
                assert writer(value, fmt) == expected, (value, fmt)
                compared += 1
    assert compared > 3000
    # Equal instants in other zones (the same key for equality) are each their own.
    instant = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)
    elsewhere = instant.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        writer = DateWriter()
        assert writer(instant, "c") == format_date(instant, "c") == writer(elsewhere, "c")
