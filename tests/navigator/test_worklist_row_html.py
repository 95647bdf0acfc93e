"""`navigator.worklist.row_html` writes the worklist page's rows in Python: the same
HTML, character for character, as the row template `navigator/_worklist_row.html`
draws, for rows in every state (reasons or none, tried today, overdue, covering,
reminder, a number to call or none, interpreter needed and arranged or not, a
follow-up with or without a channel, an appointment, a last attempt) and values with
characters to escape."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.template.loader import render_to_string

from navigator.models import CaseStatus
from navigator.selectors.worklist import worklist_for, worklist_rows
from navigator.worklist import rules
from navigator.worklist.row_html import ROW_SEPARATOR, row_html, rows_html
from navigator.worklist.rows import Phone
from tests import factories

NOW = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)  # 2 pm in Boston
TODAY = dt.date(2026, 11, 24)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def _by_template(case) -> str:
    # The reference template starts with its comment: the row is what follows it.
    return render_to_string("navigator/_worklist_row.html", {"case": case}).strip()


def _rows():
    navigator = factories.NavigatorFactory()
    user = navigator.user
    # Overdue, tried today, an appointment, a phone, names and times to escape.
    busy = factories.CaseFactory(
        navigator=navigator,
        next_follow_up=TODAY - dt.timedelta(days=3),
        next_channel="sms",
        patient__family_name="O'Brien <b>&",
        patient__given_name='Ann "Annie"',
        patient__best_contact_times="mornings & <evenings>",
        patient__interpreter_needed=True,
        patient__phone="+16175550123",
    )
    factories.ContactAttemptFactory(case=busy, attempted_at=NOW - dt.timedelta(hours=2))
    factories.AppointmentFactory(case=busy, scheduled_at=NOW + dt.timedelta(days=2, hours=1))
    # Nothing to do today: no reasons, its summary instead; a Spanish speaker.
    quiet = factories.CaseFactory(
        navigator=navigator,
        next_follow_up=TODAY + dt.timedelta(days=7),
        patient__preferred_language="es",
    )
    factories.ContactAttemptFactory(case=quiet, attempted_at=NOW - dt.timedelta(days=7))
    # Tried today without reaching the patient (its follow-up is not overdue).
    factories.ContactAttemptFactory(case=quiet, attempted_at=NOW - dt.timedelta(hours=1))
    # New, never contacted, no follow-up date.
    factories.CaseFactory(navigator=navigator, next_follow_up=None, status=CaseStatus.NEW)
    moment = rules.Moment.current()
    rows = worklist_rows(worklist_for(user=user, moment=moment), user=user, moment=moment)
    assert len(rows) == 3
    return navigator, rows


def test_the_fetched_rows_are_drawn_as_the_template_draws_them():
    _, rows = _rows()
    assert any(row.reasons for row in rows) and any(not row.reasons for row in rows)
    assert any(row.tried_today_label for row in rows)
    for row in rows:
        assert row_html(row) == _by_template(row)
    assert rows_html(rows) == ROW_SEPARATOR.join(_by_template(row) for row in rows)


def test_rows_in_every_state_are_drawn_as_the_template_draws_them():
    navigator, rows = _rows()
    reasons = next(row.reasons for row in rows if row.reasons)
    states = itertools.product(
        [None, navigator],  # covering_for
        [False, True],  # has_pending_reminder
        [(False, False), (True, False), (True, True)],  # needs_interpreter, arranged
        [None, Phone(e164="+16175550123", national="(617) 555-0123"), Phone("<x>", "<x>&")],
        ["", "text"],  # next_channel_label
        [None, NOW + dt.timedelta(days=1)],  # next_appointment_at
        [None, NOW - dt.timedelta(days=2)],  # last_attempt_at
    )
    for row in rows:
        for covering, reminder, interpreter, number, channel, appointment, last in states:
            row.covering_for = covering
            row.has_pending_reminder = reminder
            row.needs_interpreter, row.interpreter_arranged = interpreter
            row.phone_to_call = number
            row.next_channel_label = channel
            row.next_appointment_at = appointment
            row.last_attempt_at = last
            assert row_html(row) == _by_template(row)
        # Reasons or none, overdue or not, tried today or not.
        for has_reasons, overdue, tried in itertools.product([False, True], repeat=3):
            row.reasons = reasons if has_reasons else []
            row.summary = "Next follow-up <soon> & more"
            row.follow_up_is_overdue = overdue
            row.tried_today_at = NOW - dt.timedelta(minutes=30) if tried else None
            row.tried_today_label = "Tried 1:30 PM" if tried else ""
            assert row_html(row) == _by_template(row)


def test_a_pages_writer_writes_values_as_the_engine_does():
    """row_html's Writer (numbers kept per page) writes what `{{ value }}` writes."""
    from django.template import Context, Template

    from navigator.worklist.row_html import Writer

    writer = Writer()
    template = Template("{{ value }}")
    values = [0, 7, -3, 1234567, True, False, None, 2.5, "a <b> & 'c'", NOW, TODAY]
    for value in [*values, *values]:
        assert writer.text(value) == template.render(Context({"value": value})), value
