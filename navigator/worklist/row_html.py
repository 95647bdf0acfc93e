"""The worklist page's rows, written in Python: `rows_html`.

Django's template engine took about a third of a millisecond a row to draw the
page's 50 rows (some 17 ms a page, the largest part of its Python), resolving
each variable and filter node by node. This writes the same HTML, character for
character, as `navigator/_worklist_row.html` (the row as a template, kept as the
reference: tests/navigator/test_worklist_row_html.py compares the two for rows in
every state); each value escaped, localised and put in the site's time zone as the
engine does it (`_text`, `_date`; dates through config.date_format, which writes
what the `date` filter writes at a fraction of its cost). A page's values go through
one `Writer`, which reads the language and time zone once and keeps the answers for
the dates and numbers that repeat down the page.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]

from config.date_format import DateWriter, format_date
from navigator.models import NavigationCase
from navigator.worklist.rows import status_label

_PK_MARK = 987654321987
_URL_PARTS: dict[str, tuple[str, str]] = {}

# Between two rows: a line of the page's table body.
ROW_SEPARATOR = "\n          "


def _text(value: Any) -> str:
    """`{{ value }}` with autoescaping on (django.template.base.render_value_in_context):
    a plain string is only escaped (localize and template_localtime return it as it
    is, and Django's escape is html.escape), anything else localised first."""
    if type(value) is str:
        return html.escape(value)
    value = localize(template_localtime(value))
    return conditional_escape(value if isinstance(value, str) else str(value))


def _date(value: dt.date | dt.datetime | None, fmt: str) -> str:
    """`{{ value|date:fmt }}`: the filter's answer (config.date_format, which puts the
    value in the site's time zone as the engine does), escaped."""
    return conditional_escape(format_date(value, fmt))


class Writer:
    """`_text` and `_date` for the values of one page, drawn under one language and
    time zone: the dates through a config.date_format.DateWriter, and whole numbers
    (ages, counts; localised alike for the page) kept after their first writing.
    Make one per page; keep it no longer."""

    def __init__(self, csrf_token: str = "") -> None:
        self._dates = DateWriter()
        self._numbers: dict[int, str] = {}
        # For the rows' forms (enrol in the next group series), as `{{ csrf_token }}`.
        self.csrf_token = html.escape(str(csrf_token))

    def text(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            return html.escape(value)
        if kind is int:
            found = self._numbers.get(value)
            if found is None:
                found = self._numbers[value] = _text(value)
            return found
        return _text(value)

    def date(self, value: dt.date | dt.datetime | None, fmt: str) -> str:
        return conditional_escape(self._dates(value, fmt))


def case_url(pk: int) -> str:
    """The case's page: reversed once per process and script prefix, then filled in
    (reverse costs more than the rest of a row's link)."""
    prefix = get_script_prefix()
    if prefix not in _URL_PARTS:
        url = reverse("navigator:case_detail", args=[_PK_MARK])
        before, after = url.split(str(_PK_MARK), 1)
        _URL_PARTS[prefix] = (before, after)
    before, after = _URL_PARTS[prefix]
    return f"{before}{int(pk)}{after}"


def enrol_url(pk: int) -> str:
    """Where a control case's row posts to enrol the patient in the next group series
    (navigator.views.worklist_enrol), reversed once per process and prefix as `case_url`."""
    prefix = get_script_prefix()
    key = f"enrol:{prefix}"
    if key not in _URL_PARTS:
        url = reverse("navigator:worklist_group_enrol", args=[_PK_MARK])
        _URL_PARTS[key] = tuple(url.split(str(_PK_MARK), 1))  # type: ignore[assignment]
    before, after = _URL_PARTS[key]
    return f"{before}{int(pk)}{after}"


def _enrol(case: Any, w: Writer) -> str:
    if not case.enrol_series_label:
        return ""
    url = w.text(enrol_url(case.pk))
    return (
        f'<form class="worklist-enrol" method="post" action="{url}" hx-post="{url}" '
        'hx-swap="outerHTML" data-testid="enrol-next-series">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{w.csrf_token}">'
        '<input type="hidden" name="language" '
        f'value="{w.text(case.patient.preferred_language)}">'
        '<button type="submit" class="button button--small">'
        f"{w.text(case.enrol_series_label)}</button></form>"
    )


def _patient(case: Any, w: Writer) -> str:
    patient = case.patient
    url = case_url(case.pk)
    covering = (
        f'<span class="badge badge--covering">Covering for {w.text(case.covering_for)}</span>'
        if case.covering_for
        else ""
    )
    reminder = (
        '<span class="badge badge--reminder">reminder</span>' if case.has_pending_reminder else ""
    )
    return (
        '\n            <th scope="row" data-label="Patient">'
        f'\n              <a href="{w.text(url)}">{w.text(patient.family_name)}, '
        f"{w.text(patient.given_name)}</a>"
        f'\n              <span class="worklist-meta">MRN {w.text(patient.mrn)} · '
        f"{w.text(case.patient_age)} years</span>"
        f"\n              {covering}"
        f"\n              {reminder}"
        "\n            </th>"
    )


def _why(case: Any, w: Writer) -> str:
    tried = (
        '<span class="badge badge--tried" data-testid="tried-today">'
        f'<time datetime="{w.date(case.tried_today_at, "c")}">'
        f"{w.text(case.tried_today_label)}</time></span>"
        if case.tried_today_label
        else ""
    )
    if case.reasons:
        items = "".join(
            f'<li class="reason reason--{w.text(reason.code)}">{w.text(reason.label)}</li>'
            for reason in case.reasons
        )
        body = (
            '\n                <ul class="reasons">'
            f"\n                  {items}"
            "\n                </ul>\n              "
        )
    else:
        body = (
            f'\n                <span class="muted">{w.text(case.summary)}</span>\n              '
        )
    return (
        '\n            <td data-label="Why now" class="worklist-why">'
        f"\n              {tried}"
        f"\n              {body}"
        "\n            </td>"
    )


def _call(case: Any, w: Writer) -> str:
    patient = case.patient
    number = case.phone_to_call
    tel = (
        f'<a class="worklist-tel" href="tel:{w.text(number.e164)}" data-testid="best-phone">'
        f"{w.text(number.national)}</a>"
        if number
        else '<span class="muted">No good number</span>'
    )
    when = (
        f"Best: {w.text(patient.best_contact_times)}"
        if patient.best_contact_times
        else "Best time not recorded"
    )
    interpreter = ""
    if case.needs_interpreter or patient.interpreter_needed:
        interpreter = (
            ' <span class="badge badge--interpreter badge--interpreter-arranged" '
            'data-testid="interpreter-badge">Interpreter needed: arranged</span>'
            if case.interpreter_arranged
            else ' <span class="badge badge--interpreter badge--interpreter-pending" '
            'data-testid="interpreter-badge">Interpreter needed: not arranged</span>'
        )
    return (
        '\n            <td data-label="Call" class="worklist-call">'
        f"\n              {tel}"
        f'\n              <span class="worklist-when">{when}</span>'
        f'\n              <span class="worklist-lang">{w.text(patient.language_name)}'
        f"{interpreter}</span>"
        "\n            </td>"
    )


def _program(case: Any, w: Writer) -> str:
    return (
        '\n            <td data-label="Program and status" class="worklist-small">'
        f"\n              {w.text(case.program.name)}<br>"
        f'\n              <span class="status status--{w.text(case.status)}">'
        f"{w.text(status_label(case.status))}</span>"
        "\n            </td>"
    )


def _next_step(case: Any, w: Writer) -> str:
    if case.next_follow_up:
        channel = f" by {w.text(case.next_channel_label)}" if case.next_channel_label else ""
        overdue = (
            '<span class="badge badge--overdue">overdue</span>' if case.follow_up_is_overdue else ""
        )
        follow_up = (
            "\n                Follow up "
            f'<time datetime="{w.date(case.next_follow_up, "Y-m-d")}">'
            f"{w.date(case.next_follow_up, 'j M')}</time>{channel}"
            f"\n                {overdue}"
            "\n              "
        )
    else:
        follow_up = '<span class="muted">No follow-up set</span>'
    appointment = (
        '<br><span class="small">Appointment '
        f'<time datetime="{w.date(case.next_appointment_at, "c")}">'
        f"{w.date(case.next_appointment_at, 'j M, g:i A')}</time></span>"
        if case.next_appointment_at
        else ""
    )
    return (
        '\n            <td data-label="Next step" class="worklist-small">'
        f"\n              {follow_up}"
        f"\n              {appointment}"
        f"\n              {_enrol(case, w)}"
        "\n            </td>"
    )


def _last_attempt(case: Any, w: Writer) -> str:
    last = (
        f'<time datetime="{w.date(case.last_attempt_at, "c")}">'
        f"{w.date(case.last_attempt_at, 'j M')}</time>"
        if case.last_attempt_at
        else '<span class="muted">None yet</span>'
    )
    return f'\n            <td data-label="Last attempt" class="worklist-small">{last}</td>'


def row_html(case: NavigationCase, w: Writer | None = None) -> SafeString:
    """One row, as `navigator/_worklist_row.html` draws it for a case that
    `navigator.worklist.rows.rows` has annotated (`w`: the page's Writer)."""
    row: Any = case
    if w is None:
        w = Writer()
    classes = "worklist-row"
    if row.reasons:
        classes += f" worklist-row--{w.text(row.reasons[0].code)}"
    if row.follow_up_is_overdue:
        classes += " row--overdue"
    if row.tried_today_label:
        classes += " worklist-row--tried"
    return mark_safe(  # noqa: S308 - every value in it is escaped above
        f'<tr class="{classes}" data-testid="worklist-row">'
        f"{_patient(row, w)}{_why(row, w)}{_call(row, w)}{_program(row, w)}"
        f"{_next_step(row, w)}{_last_attempt(row, w)}"
        '\n            <td data-label="Open barriers" class="num worklist-small">'
        f"{w.text(row.open_barrier_count)}</td>"
        "\n          </tr>"
    )


def rows_html(cases: Iterable[NavigationCase], *, csrf_token: str = "") -> SafeString:
    """The page's rows, one after another (`csrf_token`: the page's, for the rows' forms)."""
    # Each row is safe: every value in it was escaped.
    w = Writer(csrf_token)
    return mark_safe(ROW_SEPARATOR.join(row_html(case, w) for case in cases))  # noqa: S308
