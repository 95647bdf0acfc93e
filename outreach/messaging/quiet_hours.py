"""When a patient message may go out: their local clock, quiet hours, frequency caps.

Pure functions of plain values (no database), so that every rule, and every
daylight-saving edge, is pinned by tests. Times are stored in UTC; they are
*computed* from the patient's local wall clock through zoneinfo, so that a
"9:00 the day before" reminder is at 9:00 local on both sides of a DST change
and never fires twice or not at all.

The rules (issue 5):
- nothing reaches a patient outside 8:00–21:00 in their time zone: a message due
  then is deferred to the next allowed minute, never dropped;
- at most one message a day and three a week per patient (the FCC's healthcare
  exemption; settings may lower or raise them), lower-priority messages yielding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
QUIET_HOURS_END = dt.time(8, 0)  # first minute a message may arrive
QUIET_HOURS_START = dt.time(21, 0)  # from here on, nothing until tomorrow
FREQUENCY_WINDOW_DAYS = 7


def local_to_utc(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local wall-clock time on a day.

    A time that does not exist that day (skipped by the spring-forward change,
    2:30 on 2026-03-08 in New York) moves to the first instant after the gap, as
    the wall clock would show it; a time that exists twice (1:30 on 2026-11-01)
    is its first occurrence. Either way there is exactly one instant per day.
    """
    # PEP 495: with fold=0, a wall time in a gap is read with the offset before
    # the change, which lands it after the gap (2:30 EST is 3:30 EDT); a repeated
    # wall time is its first occurrence.
    return dt.datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def within_allowed_hours(moment: dt.datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone).time()
    return QUIET_HOURS_END <= local < QUIET_HOURS_START


def next_allowed(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """`moment` itself if the patient's clock reads 8:00–20:59, else the next 8:00."""
    if moment.tzinfo is None:
        raise ValueError("next_allowed needs an aware datetime")
    if within_allowed_hours(moment, zone):
        return moment
    local = moment.astimezone(zone)
    day = local.date()
    if local.time() >= QUIET_HOURS_START:
        day += dt.timedelta(days=1)
    return local_to_utc(day, QUIET_HOURS_END, zone)


def reminder_instant(
    *, anchor_day: dt.date, days_before: int, at: dt.time, zone: ZoneInfo
) -> dt.datetime:
    """A reminder `days_before` an appointment's day, at a local time: in UTC,
    then moved out of quiet hours if the rule asked for a quiet time."""
    day = anchor_day - dt.timedelta(days=days_before)
    return next_allowed(local_to_utc(day, at, zone), zone)


@dataclass(frozen=True)
class FrequencyCap:
    per_day: int = 1
    per_week: int = 3

    def allows(self, day: dt.date, sent_days: Sequence[dt.date]) -> bool:
        """Whether one more message may go out on `day`, given the local days
        messages already went (or are planned) out on. The week is the rolling
        seven days ending on `day`."""
        if sum(1 for d in sent_days if d == day) >= self.per_day:
            return False
        window_start = day - dt.timedelta(days=FREQUENCY_WINDOW_DAYS - 1)
        in_window = sum(1 for d in sent_days if window_start <= d <= day)
        if in_window >= self.per_week:
            return False
        # A message today must not push a later, already planned day over the cap.
        for later in sorted({d for d in sent_days if d > day}):
            start = later - dt.timedelta(days=FREQUENCY_WINDOW_DAYS - 1)
            if sum(1 for d in sent_days if start <= d <= later) + 1 > self.per_week:
                return False
        return True

    def first_allowed_day(
        self, from_day: dt.date, sent_days: Sequence[dt.date], *, horizon_days: int = 60
    ) -> dt.date | None:
        """The first day from `from_day` on which a message may go out (None if
        none within the horizon, which only a cap of 0 could cause)."""
        for offset in range(horizon_days):
            day = from_day + dt.timedelta(days=offset)
            if self.allows(day, sent_days):
                return day
        return None


@dataclass(frozen=True)
class Pending:
    """A message waiting to go out: its id, when it is due (UTC) and its priority
    (higher goes first)."""

    key: int
    due: dt.datetime
    priority: int


def plan(
    pending: Iterable[Pending],
    *,
    sent: Sequence[dt.datetime],
    zone: ZoneInfo,
    cap: FrequencyCap,
) -> dict[int, dt.datetime]:
    """When each pending message for one patient may go out.

    Higher priority plans first (ties: earlier due, then lower key), each at the
    first instant that is at or after its due time, inside the patient's allowed
    hours, and within the caps given everything sent and planned before it. So a
    lower-priority message yields its day to a higher one and moves to the next
    day the caps allow, still at an allowed hour.
    """
    days = [moment.astimezone(zone).date() for moment in sent]
    planned: dict[int, dt.datetime] = {}
    for item in sorted(pending, key=lambda p: (-p.priority, p.due, p.key)):
        moment = next_allowed(item.due, zone)
        day = cap.first_allowed_day(moment.astimezone(zone).date(), days)
        if day is None:
            continue
        if day != moment.astimezone(zone).date():
            moment = local_to_utc(day, QUIET_HOURS_END, zone)
        planned[item.key] = moment
        days.append(day)
    return planned
