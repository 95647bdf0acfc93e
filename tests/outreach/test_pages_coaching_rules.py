"""The reminder rules page's coaching triggers (outreach/manager_views.py, the rules
service, outreach migration 0019): a control programme's managers see the reminders
before individual coaching sessions and group classes, and change them like the others;
the seeded rules send them in the programme's words."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from navigator.services.coaching import coaching_session_book
from outreach.messaging.patient_reminders import group_session_reminders_schedule
from outreach.models import MessageState, PatientMessage, ReminderRule, ReminderTrigger
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 6, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def manager_client(client):
    client.force_login(factories.ManagerFactory())
    return client


def rules_url(code="diabetes"):
    return reverse("outreach:program_rules", args=[code])


def coaching_rule(trigger) -> ReminderRule:
    return ReminderRule.objects.get(program__code="diabetes", trigger=trigger)


def form_data(rule: ReminderRule, **changes) -> dict[str, str]:
    prefix = f"rule{rule.pk}"
    data = {
        "trigger": rule.trigger, "days": str(rule.days), "kind": rule.kind,
        "at_time": rule.at_time.strftime("%H:%M"), "channel": rule.channel, "modality": "",
        "priority": str(rule.priority), "active": "on" if rule.active else "",
        **changes,
    }  # fmt: skip
    posted = {f"{prefix}-{key}": value for key, value in data.items() if value != ""}
    return {"form": f"rule:{rule.pk}", **posted}


def test_the_diabetes_programme_comes_with_a_reminder_before_each_coaching_session_and_class():
    for trigger, kind in [
        (ReminderTrigger.BEFORE_COACHING_SESSION, "coaching_reminder"),
        (ReminderTrigger.BEFORE_GROUP_SESSION, "group_class_reminder"),
    ]:
        rule = coaching_rule(trigger)
        assert (rule.kind, rule.days, rule.at_time, rule.channel, rule.active) == (
            kind, 1, dt.time(10, 0), "sms", True,
        )  # fmt: skip


def test_the_rules_page_of_a_control_programme_shows_both_coaching_triggers(manager_client):
    html = manager_client.get(rules_url()).content.decode()

    assert "Days before an individual coaching session" in html
    assert "Days before a group class (to each enrolled patient)" in html
    assert (
        html.count('data-testid="reminder-rule"')
        == ReminderRule.objects.filter(program__code="diabetes").count()
    )
    assert "Coaching session reminder, 1 day before" in html


def test_without_a_rule_the_coaching_trigger_still_shows_and_says_nothing_is_sent(
    manager_client,
):
    coaching_rule(ReminderTrigger.BEFORE_GROUP_SESSION).delete()

    html = manager_client.get(rules_url()).content.decode()

    assert "Days before a group class (to each enrolled patient)" in html
    assert html.count('data-testid="reminder-trigger-empty"') == 1


def test_a_screening_programmes_page_shows_no_empty_coaching_triggers(manager_client):
    html = manager_client.get(rules_url("colorectal")).content.decode()

    headings = re.findall(r'data-testid="reminder-trigger">([^<]+)<', html)
    assert headings and not [heading for heading in headings if "coaching" in heading]
    assert "group class" not in " ".join(headings)
    assert 'data-testid="reminder-trigger-empty"' not in html


def test_a_manager_changes_the_class_reminders_lead_time_and_channel_then_turns_it_off(
    manager_client,
):
    rule = coaching_rule(ReminderTrigger.BEFORE_GROUP_SESSION)

    response = manager_client.post(
        rules_url(), form_data(rule, days="2", channel="email", at_time="09:30")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.days, rule.channel, rule.at_time, rule.active) == (
        2, "email", dt.time(9, 30), True,
    )  # fmt: skip

    response = manager_client.post(rules_url(), form_data(rule, active=""))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.active
    changes = LogEntry.objects.filter(object_id=str(rule.pk)).order_by("pk")
    assert [entry.change_message.endswith("(off)") for entry in changes] == [False, True]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"at_time": "22:30"}, "nothing reaches a patient outside those hours"),
        ({"days": "-1"}, "greater than or equal to 0"),
        ({"kind": "recall"}, "Days before a group class (to each enrolled patient) can send"),
    ],
)
def test_a_bad_change_to_a_coaching_rule_is_refused_and_nothing_changes(
    manager_client, changes, error
):
    rule = coaching_rule(ReminderTrigger.BEFORE_GROUP_SESSION)
    before = ReminderRule.objects.values().get(pk=rule.pk)

    response = manager_client.post(rules_url(), form_data(rule, **changes))

    assert response.status_code == 400
    assert error in response.content.decode()
    assert ReminderRule.objects.values().get(pk=rule.pk) == before
    assert not LogEntry.objects.filter(object_id=str(rule.pk)).exists()


def _diabetes_case(language: str):
    return factories.CaseFactory(
        program=factories.program("diabetes"), patient__preferred_language=language,
        patient__sms_consent=True, patient__phone="+16175550123",
        patient__time_zone="America/New_York",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "your coaching session"), ("es", "su sesión de orientación"),
     ("pt", "sua sessão de orientação")],
)  # fmt: skip
def test_the_seeded_rule_reminds_of_a_coaching_session_as_a_coaching_session(language, words):
    case = _diabetes_case(language)

    with time_machine.travel(NOW, tick=False):
        session = coaching_session_book(
            case=case, scheduled_at=NOW + dt.timedelta(days=3), actor=case.navigator.user
        )

    [message] = PatientMessage.objects.filter(subject_key=f"coaching:{session.pk}")
    assert message.state == MessageState.SCHEDULED
    assert words in message.body
    assert "appointment" not in message.body and ", ." not in message.body


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "your self-management class"), ("es", "su clase de autocontrol"),
     ("pt", "sua aula de autocuidado")],
)  # fmt: skip
def test_the_seeded_rule_reminds_of_a_group_session_as_a_self_management_class(language, words):
    case = _diabetes_case(language)
    series = factories.GroupSeriesFactory(program=case.program)
    factories.GroupEnrolmentFactory(series=series, case=case)
    with time_machine.travel(NOW, tick=False):
        session = factories.GroupSessionFactory(
            series=series, number=1, starts_at=NOW + dt.timedelta(days=3)
        )
        [message] = group_session_reminders_schedule(session=session)

    assert words in message.body
    # Minimum necessary: a text names the class, not the patient's condition.
    assert "diabet" not in message.body.lower()
