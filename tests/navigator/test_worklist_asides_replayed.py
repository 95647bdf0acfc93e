"""The worklist page's reminders and tasks, their SQL compiled once per key and process
(`outreach.selectors.reminders_shown_for`, `navigator.selectors.worklist.
worklist_tasks_due`): the same rows, with their cases, patients and programs, as the
querysets they replay, the first time and after; whose list it is, the role and the
day each change the key; and a row written meanwhile shows at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from navigator.selectors.worklist import worklist_navigators, worklist_tasks, worklist_tasks_due
from outreach.models import CaseTask, FollowUpReminder, TaskKind
from outreach.selectors import reminders_pending_for, reminders_shown_for
from tests import factories

pytestmark = pytest.mark.django_db

LIMIT = 50


def _shown(reminders) -> list[tuple[object, ...]]:
    return [
        (r.pk, r.case_id, r.case.patient.full_name, r.case.program.name, r.due_on)
        for r in reminders
    ]


def _tasks(tasks) -> list[tuple[object, ...]]:
    return [
        (t.pk, t.case_id, t.case.patient.full_name, t.get_kind_display(), t.summary, t.due_on)
        for t in tasks
    ]


def _task(case, n: int, due_on: dt.date) -> CaseTask:
    return CaseTask.objects.create(
        case=case,
        kind=TaskKind.NO_SHOW,
        subject_key=f"t-{case.pk}-{n}",
        due_on=due_on,
        summary=f"Re-book <{n}>",
    )


@pytest.fixture
def two_navigators(db):
    today = timezone.localdate()
    first, second = factories.NavigatorFactory(), factories.NavigatorFactory()
    for navigator in (first, second):
        for n in range(3):
            case = factories.CaseFactory(navigator=navigator)
            FollowUpReminder.objects.create(
                case=case, navigator=navigator, due_on=today - dt.timedelta(days=n)
            )
            _task(case, n, today - dt.timedelta(days=n))
    return first, second


def test_reminders_are_the_querysets_rows_for_each_user_the_first_time_and_after(
    two_navigators, manager
):
    first, second = two_navigators
    for user in (first.user, second.user, manager, first.user):
        plain = _shown(reminders_pending_for(user)[:LIMIT])
        assert _shown(reminders_shown_for(user, limit=LIMIT)) == plain
        assert _shown(reminders_shown_for(user, limit=LIMIT)) == plain
    # Each navigator sees their own only.
    assert {r.case.navigator_id for r in reminders_shown_for(first.user, limit=LIMIT)} == {first.pk}
    assert _shown(reminders_shown_for(first.user, limit=2)) == _shown(
        reminders_pending_for(first.user)[:2]
    )


def test_a_reminder_written_meanwhile_shows_at_once(two_navigators):
    first, _ = two_navigators
    before = reminders_shown_for(first.user, limit=LIMIT)
    case = factories.CaseFactory(navigator=first)
    FollowUpReminder.objects.create(case=case, navigator=first, due_on=timezone.localdate())
    after = reminders_shown_for(first.user, limit=LIMIT)
    assert len(after) == len(before) + 1
    assert _shown(after) == _shown(reminders_pending_for(first.user)[:LIMIT])


def test_a_users_new_role_is_a_new_key(two_navigators):
    first, _ = two_navigators
    assert reminders_shown_for(first.user, limit=LIMIT)
    first.user.role = "compliance"
    first.user.save()
    assert reminders_shown_for(first.user, limit=LIMIT) == []


def test_tasks_are_the_querysets_rows_for_each_user_and_list(two_navigators, manager):
    first, second = two_navigators
    today = timezone.localdate()
    cases = [
        (first.user, None),
        (second.user, None),
        (manager, first),
        (manager, second),
        (first.user, None),
    ]
    for user, owner in cases:
        navigators = worklist_navigators(user=user, navigator=owner, on=today)
        for day in (today, today - dt.timedelta(days=1)):
            plain = _tasks(worklist_tasks(user=user, navigators=navigators, today=day)[:LIMIT])
            for _ in range(2):
                kept = worklist_tasks_due(user=user, navigators=navigators, today=day, limit=LIMIT)
                assert _tasks(kept) == plain
    own = worklist_navigators(user=first.user, on=today)
    assert {
        t.case.navigator_id
        for t in worklist_tasks_due(user=first.user, navigators=own, today=today, limit=LIMIT)
    } == {first.pk}


def test_a_cover_shows_the_colleagues_tasks_and_a_task_done_leaves_at_once(two_navigators):
    first, second = two_navigators
    today = timezone.localdate()
    alone = worklist_navigators(user=first.user, on=today)
    mine = worklist_tasks_due(user=first.user, navigators=alone, today=today, limit=LIMIT)
    factories.CoverageFactory(absent=second, covering=first)
    covering = worklist_navigators(user=first.user, on=today)
    both = worklist_tasks_due(user=first.user, navigators=covering, today=today, limit=LIMIT)
    assert len(both) == 2 * len(mine)
    assert _tasks(both) == _tasks(
        worklist_tasks(user=first.user, navigators=covering, today=today)[:LIMIT]
    )
    CaseTask.objects.filter(pk=both[0].pk).update(done_at=timezone.now())
    again = worklist_tasks_due(user=first.user, navigators=covering, today=today, limit=LIMIT)
    assert [t.pk for t in again] == [t.pk for t in both[1:]]
