"""When patient messages may go out: local clocks, quiet hours, DST and frequency caps."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from outreach.messaging.quiet_hours import (
    FrequencyCap,
    Pending,
    local_to_utc,
    next_allowed,
    plan,
    reminder_instant,
    within_allowed_hours,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


# --- A local time each day, across daylight saving -----------------------------------------


@pytest.mark.parametrize(
    ("first", "last"),
    [(dt.date(2026, 3, 6), dt.date(2026, 3, 10)), (dt.date(2026, 10, 30), dt.date(2026, 11, 3))],
)
def test_a_9am_local_reminder_fires_exactly_once_a_day_across_a_dst_change(first, last):
    # Given a daily 9:00 reminder in New York across the spring and autumn changes
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]

    # When each day's instant is computed
    instants = [local_to_utc(day, dt.time(9, 0), NEW_YORK) for day in days]

    # Then there is one per local day, always at 9:00 on the wall clock
    assert len(set(instants)) == len(days)
    assert [i.astimezone(NEW_YORK).date() for i in instants] == days
    assert {i.astimezone(NEW_YORK).time() for i in instants} == {dt.time(9, 0)}


def test_the_utc_hour_of_a_9am_reminder_moves_with_the_clocks():
    assert local_to_utc(dt.date(2026, 3, 7), dt.time(9), NEW_YORK) == utc(2026, 3, 7, 14)
    assert local_to_utc(dt.date(2026, 3, 8), dt.time(9), NEW_YORK) == utc(2026, 3, 8, 13)
    assert local_to_utc(dt.date(2026, 10, 31), dt.time(9), NEW_YORK) == utc(2026, 10, 31, 13)
    assert local_to_utc(dt.date(2026, 11, 1), dt.time(9), NEW_YORK) == utc(2026, 11, 1, 14)


def test_a_local_time_skipped_by_spring_forward_moves_past_the_gap():
    # 2:30 does not exist on 2026-03-08 in New York: the clock reads 3:30 then
    instant = local_to_utc(dt.date(2026, 3, 8), dt.time(2, 30), NEW_YORK)

    assert instant == utc(2026, 3, 8, 7, 30)
    assert instant.astimezone(NEW_YORK).time() == dt.time(3, 30)


def test_a_local_time_repeated_by_fall_back_is_its_first_occurrence_only():
    instant = local_to_utc(dt.date(2026, 11, 1), dt.time(1, 30), NEW_YORK)

    assert instant == utc(2026, 11, 1, 5, 30)
    assert instant.astimezone(NEW_YORK).utcoffset() == dt.timedelta(hours=-4)


def test_a_reminder_the_day_before_is_at_the_same_local_time_across_a_dst_change():
    # Appointment on Sunday 2026-03-08 (the change); reminder Saturday 9:00 EST
    before = reminder_instant(
        anchor_day=dt.date(2026, 3, 8), days_before=1, at=dt.time(9), zone=NEW_YORK
    )
    # Appointment on Monday 2026-03-09; reminder Sunday 9:00 EDT
    after = reminder_instant(
        anchor_day=dt.date(2026, 3, 9), days_before=1, at=dt.time(9), zone=NEW_YORK
    )

    assert before == utc(2026, 3, 7, 14)
    assert after == utc(2026, 3, 8, 13)


# --- Quiet hours ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(7, 59, False), (8, 0, True), (12, 0, True), (20, 59, True), (21, 0, False), (23, 30, False)],
)
def test_messages_may_arrive_from_8_00_until_just_before_21_00_local(hour, minute, allowed):
    moment = local(NEW_YORK, 2026, 6, 15, hour, minute)

    assert within_allowed_hours(moment, NEW_YORK) is allowed
    assert (next_allowed(moment, NEW_YORK) == moment) is allowed


def test_a_message_due_late_in_the_evening_waits_until_8_00_the_next_morning():
    due = local(NEW_YORK, 2026, 6, 15, 22, 15)

    assert next_allowed(due, NEW_YORK) == local(NEW_YORK, 2026, 6, 16, 8, 0)


def test_a_message_due_before_dawn_waits_until_8_00_the_same_day():
    due = local(NEW_YORK, 2026, 6, 15, 5, 0)

    assert next_allowed(due, NEW_YORK) == local(NEW_YORK, 2026, 6, 15, 8, 0)


def test_quiet_hours_follow_the_patients_zone_not_the_servers():
    # 23:00 UTC is 19:00 in New York (allowed) but 16:00 in Los Angeles (allowed);
    # 02:00 UTC is 22:00 in New York (quiet) and 19:00 in Los Angeles (allowed)
    late = utc(2026, 6, 16, 2, 0)

    assert next_allowed(late, LOS_ANGELES) == late
    assert next_allowed(late, NEW_YORK) == local(NEW_YORK, 2026, 6, 16, 8, 0)


def test_a_deferral_across_spring_forward_lands_at_8_00_daylight_time():
    due = local(NEW_YORK, 2026, 3, 7, 22, 30)  # Saturday night, EST

    deferred = next_allowed(due, NEW_YORK)

    assert deferred == utc(2026, 3, 8, 12, 0)  # 8:00 EDT
    assert deferred.astimezone(NEW_YORK).time() == dt.time(8, 0)


def test_a_deferral_across_fall_back_lands_at_8_00_standard_time():
    due = local(NEW_YORK, 2026, 10, 31, 21, 30)  # Saturday night, EDT

    deferred = next_allowed(due, NEW_YORK)

    assert deferred == utc(2026, 11, 1, 13, 0)  # 8:00 EST
    assert deferred.astimezone(NEW_YORK).time() == dt.time(8, 0)


def test_a_message_due_in_the_repeated_hour_is_deferred_once_to_8_00():
    # 1:30 EST on 2026-11-01 is the second 1:30 of the night; still quiet hours
    due = utc(2026, 11, 1, 6, 30)

    assert next_allowed(due, NEW_YORK) == utc(2026, 11, 1, 13, 0)


def test_next_allowed_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        next_allowed(dt.datetime(2026, 6, 15, 12), NEW_YORK)  # noqa: DTZ001


# --- Frequency caps -----------------------------------------------------------------------------


def test_one_message_a_day():
    cap = FrequencyCap(per_day=1, per_week=3)
    monday = dt.date(2026, 6, 15)

    assert cap.allows(monday, [])
    assert not cap.allows(monday, [monday])
    assert cap.allows(monday + dt.timedelta(days=1), [monday])


def test_three_a_week_over_any_seven_days():
    cap = FrequencyCap(per_day=1, per_week=3)
    sent = [dt.date(2026, 6, 15), dt.date(2026, 6, 16), dt.date(2026, 6, 17)]

    assert not cap.allows(dt.date(2026, 6, 21), sent)  # 6 days after the first
    assert cap.allows(dt.date(2026, 6, 22), sent)  # the first has left the window
    assert cap.first_allowed_day(dt.date(2026, 6, 18), sent) == dt.date(2026, 6, 22)


def test_a_message_cannot_take_a_day_that_would_push_a_planned_day_over_the_cap():
    cap = FrequencyCap(per_day=1, per_week=3)
    planned = [dt.date(2026, 6, 16), dt.date(2026, 6, 17), dt.date(2026, 6, 20)]

    # The 15th would make four in the seven days ending on the 20th
    assert not cap.allows(dt.date(2026, 6, 15), planned)


def test_the_caps_are_settings():
    generous = FrequencyCap(per_day=2, per_week=5)
    monday = dt.date(2026, 6, 15)

    assert generous.allows(monday, [monday])
    assert not generous.allows(monday, [monday, monday])


# --- Planning a patient's pending messages ------------------------------------------------


def test_a_lower_priority_message_yields_the_day_to_a_higher_one():
    # Given a prep instruction (high) and a recall notice (low) both due Monday 10:00
    due = local(NEW_YORK, 2026, 6, 15, 10, 0)
    pending = [Pending(key=1, due=due, priority=1), Pending(key=2, due=due, priority=9)]

    when = plan(pending, sent=[], zone=NEW_YORK, cap=FrequencyCap())

    # Then the prep instruction goes Monday, the recall Tuesday at 8:00
    assert when[2] == due
    assert when[1] == local(NEW_YORK, 2026, 6, 16, 8, 0)


def test_messages_already_sent_count_against_the_caps():
    sent = [local(NEW_YORK, 2026, 6, d, 9, 0) for d in (12, 13, 14)]
    pending = [Pending(key=1, due=local(NEW_YORK, 2026, 6, 15, 10, 0), priority=5)]

    when = plan(pending, sent=sent, zone=NEW_YORK, cap=FrequencyCap())

    # Each week ending the 15th to the 18th already holds three; the 19th is free
    assert when[1] == local(NEW_YORK, 2026, 6, 19, 8, 0)


def test_a_planned_time_is_always_inside_allowed_hours_and_never_before_it_is_due():
    due = local(NEW_YORK, 2026, 3, 7, 23, 0)
    pending = [Pending(key=n, due=due, priority=n) for n in range(5)]

    when = plan(pending, sent=[], zone=NEW_YORK, cap=FrequencyCap())

    assert len(when) == 5
    for moment in when.values():
        assert moment >= due
        assert within_allowed_hours(moment, NEW_YORK)
    days = sorted(m.astimezone(NEW_YORK).date() for m in when.values())
    assert len(set(days)) == 5  # one a day
