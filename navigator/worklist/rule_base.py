"""What a worklist rule is (`Rule`), the one clock the rules read (`Moment`), the
reason a row gives (`Reason`) and how a row writes a day (`day_label`; a page's rows
inside `days_of_one_page`).

Apart from the rules themselves (`navigator.worklist.rules`, the screening and
contact rules; `navigator.worklist.control_rules`, a control programme's) so that
both rule modules build on it and `rules.RULES` lists them all without an import
cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from config.date_format import DateWriter, format_date
from navigator.models import NavigationCase


@dataclass(frozen=True)
class Moment:
    """When the worklist is drawn. Rules read "today" and "now" from here only, so
    that a test (or a page) ranks and labels with one clock."""

    today: dt.date
    now: dt.datetime

    @classmethod
    def current(cls) -> Moment:
        return cls(today=timezone.localdate(), now=timezone.now())

    @property
    def day_starts(self) -> dt.datetime:
        """The first instant of `today`, in the site's time zone (as `today` is read)."""
        return timezone.make_aware(dt.datetime.combine(self.today, dt.time.min))

    @property
    def day_ends(self) -> dt.datetime:
        """The first instant of tomorrow: today is [day_starts, day_ends)."""
        tomorrow = self.today + dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))


@dataclass(frozen=True)
class Reason:
    code: str
    priority: int
    label: str


def _no_details(moment: Moment) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Rule:
    """One reason a case needs doing today.

    `fact` is an expression over a case (``OuterRef("pk")`` is the case): the
    date the rule is about when it applies, else NULL. It is also the tiebreak
    within the rule's priority, earliest first, and the date the label shows.
    `details` are further annotations that only the label reads.
    """

    code: str
    priority: int
    title: str
    fact: Callable[[Moment], Any]
    label: Callable[[NavigationCase, Moment], str]
    details: Callable[[Moment], dict[str, Any]] = _no_details

    @property
    def fact_name(self) -> str:
        return f"wl_{self.code}"

    @property
    def flag_name(self) -> str:
        return f"reason_{self.code}"

    def detail(self, name: str) -> str:
        return f"{self.fact_name}_{name}"


def annotation(case: NavigationCase, name: str) -> Any:
    # What the worklist's query annotated the case with (query.annotate).
    return getattr(case, name)


# --- How the rows speak ---------------------------------------------------------------


# The days of the rows being labelled (`days_of_one_page`): the language and time zone
# read once for them, not twice a day written (each a context-local look-up).
_PAGE_DAYS: ContextVar[DateWriter | None] = ContextVar("equinav_worklist_days", default=None)


@contextmanager
def days_of_one_page() -> Iterator[None]:
    """Inside the block, `day_label` writes with one `DateWriter` (the language and time
    zone read on entering, a day's words kept for its next use): for a page's rows,
    drawn under one language and time zone."""
    token = _PAGE_DAYS.set(DateWriter())
    try:
        yield
    finally:
        _PAGE_DAYS.reset(token)


def day_label(value: dt.date | dt.datetime, moment: Moment) -> str:
    """ "3 Nov", with the year only when it is not this year's."""
    writer = _PAGE_DAYS.get()
    if writer is None or writer.zone is None:
        if isinstance(value, dt.datetime):
            value = timezone.localtime(value).date()
        # As dateformat.format(value, "j M"), at a fraction of its cost (config.date_format).
        text = format_date(value, "j M")
    else:
        if isinstance(value, dt.datetime):
            value = value.astimezone(writer.zone).date()  # timezone.localtime's, zone read once
        text = writer(value, "j M")
    return text if value.year == moment.today.year else f"{text} {value.year}"
