"""`navigator.worklist.asides_html` writes the reminders and tasks beside the worklist's
rows in Python: the same HTML, character for character, as the reference template
`navigator/_worklist_asides.html` draws (none, reminders only, tasks only, both; tasks
overdue and due today; values with characters to escape; English and Spanish), and
the whole page, for a navigator, a manager opening a navigator's list and a navigator
covering for a colleague, byte for byte (but for the CSRF token) as with the template
drawing them, in no more queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from navigator.selectors.worklist import worklist_navigators, worklist_tasks_due
from navigator.views import lists
from navigator.worklist.asides_html import asides_html
from outreach.models import CaseTask, FollowUpReminder, TaskKind
from outreach.selectors import reminders_shown_for
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/worklist/"
_TOKEN = re.compile(
    r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": "|data-csrf-token=")[A-Za-z0-9]+'
)


def _by_template(reminders, tasks, today) -> str:
    return render_to_string(
        "navigator/_worklist_asides.html",
        {"reminders": reminders, "tasks": tasks, "today": today},
    )


def _lists(navigator):
    """Reminders and tasks on `navigator`'s cases: names and summaries to escape, tasks
    overdue, due today and of several kinds."""
    today = timezone.localdate()
    for n, name in enumerate(["O'Brien <b>&", 'Ann "Annie"', "Zoë"]):
        case = factories.CaseFactory(navigator=navigator, patient__family_name=name)
        FollowUpReminder.objects.create(
            case=case, navigator=navigator, due_on=today - dt.timedelta(days=40 * n)
        )
        for m, kind in enumerate([TaskKind.NO_SHOW, *TaskKind.values[:2]]):
            CaseTask.objects.get_or_create(
                kind=kind,
                subject_key=f"t-{case.pk}-{m}",
                defaults={
                    "case": case,
                    "due_on": today - dt.timedelta(days=m * 33),
                    "summary": f"Re-book <{n}> & 'call'",
                },
            )
    user = navigator.user
    navigators = worklist_navigators(user=user, on=today)
    reminders = reminders_shown_for(user, limit=50)
    tasks = worklist_tasks_due(user=user, navigators=navigators, today=today, limit=50)
    assert len(reminders) == 3
    assert len(tasks) >= 3
    return reminders, tasks, today


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_lists_in_every_state_are_drawn_as_the_template_draws_them(navigator, language):
    reminders, tasks, today = _lists(navigator)
    with translation.override(language):
        for shown_reminders in ([], reminders[:1], reminders):
            for shown_tasks in ([], tasks[:1], tasks):
                for day in (today, today - dt.timedelta(days=34), today + dt.timedelta(days=1)):
                    python = asides_html(shown_reminders, shown_tasks, today=day)
                    assert python == _by_template(shown_reminders, shown_tasks, day)
    assert "O&#x27;Brien &lt;b&gt;&amp;" in asides_html(reminders, tasks, today=today)


def _page(client, monkeypatch, data, *, template: bool) -> tuple[str, int]:
    with monkeypatch.context() as m:
        if template:
            m.setattr(
                lists,
                "asides_html",
                lambda reminders, tasks, *, today: mark_safe(  # noqa: S308 - the template escapes
                    _by_template(reminders, tasks, today)
                ),
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, data)
    assert response.status_code == 200
    return _TOKEN.sub(r"\1TOKEN", response.content.decode()), len(queries)


def _agrees(client, monkeypatch, data=None) -> str:
    data = data or {}
    by_template, template_queries = _page(client, monkeypatch, data, template=True)
    python, queries = _page(client, monkeypatch, data, template=False)
    assert python == by_template
    assert queries == template_queries
    return python


@pytest.mark.parametrize("with_lists", [False, True])
def test_the_page_is_drawn_as_with_the_template(client, monkeypatch, navigator, with_lists):
    if with_lists:
        _lists(navigator)
    else:
        factories.CaseFactory(navigator=navigator)
    client.force_login(navigator.user)
    html = _agrees(client, monkeypatch)
    _agrees(client, monkeypatch, {"sort": "follow_up", "overdue": "on"})
    assert ('data-testid="worklist-tasks"' in html) is with_lists


def test_a_managers_view_and_a_cover_are_drawn_as_with_the_template(
    client, monkeypatch, navigator, manager
):
    _lists(navigator)
    client.force_login(manager)
    assert "Reminders</span>" in _agrees(client, monkeypatch, {"navigator": navigator.pk})
    colleague = factories.NavigatorFactory()
    factories.CoverageFactory(absent=navigator, covering=colleague)
    client.force_login(colleague.user)
    assert "Covering for" in _agrees(client, monkeypatch)
