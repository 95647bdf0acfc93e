"""`{{ value|date:fmt }}` without the template filter's machinery: `format_date`.

Django's `date` filter builds a `DateFormat` for every value, looks the format up
among the active language's format modules, splits it with a regular expression and
resolves each lazy month name through gettext: about 0.1 ms a value. The worklist
formats a few hundred dates a page (its rows, their reasons, the reminders and tasks
beside them), so that was a large part of its Python. Here each format is split once
per process, numbers are formatted directly, and the translated words (month
abbreviations, AM/PM) are looked up once per language. Only the format characters in
`_FAST` take this path; any other format, or a value that is not exactly a `date` or
a `datetime`, goes through Django's own filter, so the answer is always the filter's
(tests/project/test_date_format.py compares the two on many values and languages).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.template.defaultfilters import date as date_filter
from django.utils.dateformat import re_formatchars
from django.utils.dates import MONTHS_3
from django.utils.timezone import (  # type: ignore[attr-defined]
    get_current_timezone,
    template_localtime,
)
from django.utils.translation import get_language
from django.utils.translation import gettext as _

# The format characters written here, as django.utils.dateformat writes them.
_FAST = frozenset("cYmdjMngGhHisAy")
# A time character in a date's format is the filter's TypeError: left to it.
_TIME_CHARACTERS = frozenset("gGhHisA")

# format -> its pieces: (True, character) or (False, literal text); None when a
# character in it is not one of `_FAST` or the format escapes one (a backslash). A
# format's name ("DATE_FORMAT") always holds characters not in `_FAST`: the filter
# looks those up for the language.
_PIECES: dict[str, tuple[tuple[bool, str], ...] | None] = {}
# (language, word) -> the word as the language says it.
_WORDS: dict[tuple[str | None, Any], str] = {}


def _pieces(fmt: str) -> tuple[tuple[bool, str], ...] | None:
    if fmt in _PIECES:
        return _PIECES[fmt]
    pieces: list[tuple[bool, str]] = []
    fast = True
    for i, piece in enumerate(re_formatchars.split(fmt)):
        if i % 2:
            fast = piece in _FAST
            pieces.append((True, piece))
        elif piece:
            fast = "\\" not in piece
            pieces.append((False, piece))
        if not fast:
            break
    found = tuple(pieces) if fast else None
    _PIECES[fmt] = found
    return found


def _month(month: int, language: str | None) -> str:
    key = (language, month)
    word = _WORDS.get(key)
    if word is None:
        word = _WORDS[key] = MONTHS_3[month].title()
    return word


def _am_pm(hour: int, language: str | None) -> str:
    text = "PM" if hour > 11 else "AM"
    key = (language, text)
    word = _WORDS.get(key)
    if word is None:
        word = _WORDS[key] = _("PM") if hour > 11 else _("AM")
    return word


def _character(value: Any, character: str, language: str | None) -> str:
    # As django.utils.dateformat.DateFormat's method of that name; `language` the
    # active one (the translated words are kept per language).
    if character == "c":
        return value.isoformat()
    if character == "Y":
        return f"{value.year:04d}"
    if character == "m":
        return f"{value.month:02d}"
    if character == "d":
        return f"{value.day:02d}"
    if character == "j":
        return str(value.day)
    if character == "M":
        return _month(value.month, language)
    if character == "n":
        return str(value.month)
    if character == "y":
        return f"{(value.year % 100):02d}"
    if character == "g":
        return str(value.hour % 12 or 12)
    if character == "G":
        return str(value.hour)
    if character == "h":
        return f"{(value.hour % 12 or 12):02d}"
    if character == "H":
        return f"{value.hour:02d}"
    if character == "i":
        return f"{value.minute:02d}"
    if character == "s":
        return f"{value.second:02d}"
    return _am_pm(value.hour, language)  # "A"


def format_date(value: Any, fmt: str) -> str:
    """What `{{ value|date:fmt }}` shows (the value in the site's time zone, as the
    template engine hands it to the filter); "" for None."""
    return _local_format(template_localtime(value), fmt, get_language())


def _local_format(value: Any, fmt: str, language: str | None) -> str:
    """`format_date` of a value already in the site's time zone, `language` active."""
    kind = type(value)
    # No format is the language's DATE_FORMAT (the filter's, as any format's name).
    pieces = _pieces(fmt) if fmt and (kind is dt.datetime or kind is dt.date) else None
    if pieces is None or (
        kind is dt.date and any(is_char and p in _TIME_CHARACTERS for is_char, p in pieces)
    ):
        return date_filter(value, fmt)
    return "".join(_character(value, p, language) if is_char else p for is_char, p in pieces)


class DateWriter:
    """`format_date` for the many values of one page: the language and the time zone
    are read once (each read is a context-local look-up costing about as much as the
    formatting), and a date's answer is kept for its next use in the same format
    (the rows' follow-up days, the reminders' due days repeat). Make one per page,
    drawn under one language and time zone; keep it no longer.

    Only exact `date`s are kept (their answers turn on the value, the format and the
    language alone). Aware datetimes are put in the zone read here as
    template_localtime would; anything else goes through `format_date` itself."""

    def __init__(self) -> None:
        self.language = get_language()
        self.zone = get_current_timezone() if settings.USE_TZ else None
        self._dates: dict[tuple[dt.date, str], str] = {}
        self._last: tuple[dt.datetime, dt.datetime] | None = None

    def __call__(self, value: Any, fmt: str) -> str:
        kind = type(value)
        if kind is dt.date:
            key = (value, fmt)
            found = self._dates.get(key)
            if found is None:
                found = self._dates[key] = _local_format(value, fmt, self.language)
            return found
        if (
            kind is dt.datetime
            and self.zone is not None
            and value.utcoffset() is not None
            and getattr(value, "convert_to_local_time", True)
        ):
            # The same value is often written twice in a row (datetime="c", then shown).
            last = self._last
            if last is not None and last[0] is value:
                local = last[1]
            else:
                local = value.astimezone(self.zone)
                self._last = (value, local)
            return _local_format(local, fmt, self.language)
        return format_date(value, fmt)
