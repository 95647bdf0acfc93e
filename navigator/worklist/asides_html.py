"""The reminders and tasks beside the worklist page's rows, written in Python:
`asides_html`.

The template engine took 1.5-2 ms of the page's CPU drawing these two lists (up to 50
of each, every value resolved node by node), as it had the rows before
navigator.worklist.row_html. This writes the same HTML, character for character, as
`navigator/_worklist_asides.html` (the lists as a template, kept as the reference:
tests/navigator/test_worklist_asides_html.py compares the two, and the whole page
with the template in place of this); each value escaped, localised and dated as the
engine does it (row_html's Writer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from navigator.worklist.row_html import Writer, case_url


def _before(value: Any, today: dt.date) -> bool:
    """`{% if value < today %}`: the engine's comparison, False when it raises."""
    try:
        return bool(value < today)
    except Exception:  # noqa: BLE001 - the template tag swallows any error the same way
        return False


def _reminder(reminder: Any, w: Writer) -> str:
    case = reminder.case
    return (
        "\n        <li>"
        f'\n          <a href="{w.text(case_url(reminder.case_id))}">'
        f"{w.text(case.patient.full_name)}</a>"
        f"\n          — {w.text(case.program.name)}, due "
        f'<time datetime="{w.date(reminder.due_on, "Y-m-d")}">'
        f"{w.date(reminder.due_on, 'M j, Y')}</time>"
        "\n        </li>\n      "
    )


def _task(task: Any, today: dt.date, w: Writer) -> str:
    since = (
        f'<span class="badge badge--overdue">since {w.date(task.due_on, "M j")}</span>'
        if _before(task.due_on, today)
        else ""
    )
    return (
        "\n        <li>"
        f'\n          <a href="{w.text(case_url(task.case_id))}#tasks">'
        f"{w.text(task.case.patient.full_name)}</a>"
        f"\n          — {w.text(task.get_kind_display())}: {w.text(task.summary)}"
        f"\n          {since}"
        "\n        </li>\n      "
    )


def asides_html(reminders: Sequence[Any], tasks: Sequence[Any], *, today: dt.date) -> SafeString:
    """The two lists, as `navigator/_worklist_asides.html` draws them."""
    either = bool(reminders) or bool(tasks)
    w = Writer()
    parts = ['<div class="worklist-asides">' if either else "", "\n"]
    if reminders:
        items = "".join(_reminder(reminder, w) for reminder in reminders)
        parts.append(
            '\n  <details class="card reminders">'
            '\n    <summary><span id="reminders-heading" class="reminders__title">Reminders'
            f'</span> <span class="count">{w.text(len(reminders))}</span></summary>'
            '\n    <ul class="reminder-list" aria-labelledby="reminders-heading">'
            f"\n      {items}"
            "\n    </ul>"
            "\n  </details>\n"
        )
    parts.append("\n\n")
    if tasks:
        items = "".join(_task(task, today, w) for task in tasks)
        parts.append(
            '\n  <details class="card reminders" data-testid="worklist-tasks">'
            '\n    <summary><span id="tasks-heading" class="reminders__title">Tasks due'
            f'</span> <span class="count">{w.text(len(tasks))}</span></summary>'
            '\n    <ul class="reminder-list" aria-labelledby="tasks-heading">'
            f"\n      {items}"
            "\n    </ul>"
            "\n  </details>\n"
        )
    parts.append("\n\n")
    if either:
        parts.append("</div>")
    # Every value in it was escaped above.
    return mark_safe("".join(parts))  # noqa: S308
