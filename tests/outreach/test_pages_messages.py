"""Managers' pages: failed and suppressed messages (retry, cancel), and the rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from navigator.models import CaseEvent
from outreach.models import (
    CaseTask,
    InboundSms,
    MessageState,
    PatientMessage,
    ReminderRule,
    ReminderTrigger,
    TaskKind,
    TaskRule,
)
from outreach.services.navigator_tasks import message_failure_escalate
from tests import factories

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def message(*, state=MessageState.FAILED, reason="gave up after 5 tries", **kwargs):
    patient = kwargs.pop("patient", None) or factories.PatientFactory(
        sms_consent=True, time_zone="America/New_York", phone="+16175550123"
    )
    case = kwargs.pop("case", None) or factories.CaseFactory(patient=patient)
    defaults = {
        "patient": patient,
        "case": case,
        "kind": "appointment_reminder",
        "channel": "sms",
        "recipient": "+16175550123",
        "language": "en",
        "body": "Hi Rosa, a reminder of your appointment.",
        "rule_key": f"rule:{PatientMessage.objects.count() + 1}",
        "subject_key": "appointment:1",
        "slot": NOW.date(),
        "due_at": NOW - dt.timedelta(hours=2),
        "state": state,
        "state_reason": reason,
        "tries": 5,
        "last_error": "the provider timed out",
    }
    return PatientMessage.objects.create(**{**defaults, **kwargs})


@pytest.fixture
def manager_client(client):
    client.force_login(factories.ManagerFactory())
    return client


def test_the_page_lists_failed_and_suppressed_messages_with_their_reasons(manager_client):
    failed = message()
    suppressed = message(state=MessageState.SUPPRESSED, reason="no SMS consent recorded")
    message(state=MessageState.SENT, reason="")

    page = manager_client.get(reverse("outreach:message_list"))

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="problem-message"') == 2
    assert "gave up after 5 tries" in html and "no SMS consent recorded" in html
    assert reverse("outreach:message_retry", args=[failed.pk]) in html
    assert reverse("outreach:message_cancel", args=[suppressed.pk]) in html


def test_the_page_filters_by_state_and_refuses_an_unknown_one(manager_client):
    message()
    message(state=MessageState.SUPPRESSED, reason="no SMS consent recorded")

    only_failed = manager_client.get(reverse("outreach:message_list"), {"state": "failed"})
    unknown = manager_client.get(reverse("outreach:message_list"), {"state": "exploded"})

    assert only_failed.content.decode().count('data-testid="problem-message"') == 1
    assert unknown.status_code == 400


def test_a_navigator_cannot_open_the_page_or_retry(client):
    failed = message()
    client.force_login(factories.NavigatorFactory().user)

    assert client.get(reverse("outreach:message_list")).status_code == 403
    assert client.post(reverse("outreach:message_retry", args=[failed.pk])).status_code == 403
    failed.refresh_from_db()
    assert failed.state == MessageState.FAILED


def test_retrying_a_failed_message_schedules_it_now_and_closes_its_escalation(
    manager_client, django_capture_on_commit_callbacks
):
    failed = message()
    message_failure_escalate(message_id=failed.pk)

    with django_capture_on_commit_callbacks() as callbacks:
        response = manager_client.post(reverse("outreach:message_retry", args=[failed.pk]))

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.state, failed.tries, failed.due_at) == (MessageState.SCHEDULED, 0, NOW)
    assert failed.state_reason.startswith("retried by")
    assert len(callbacks) == 1  # the send is enqueued once the retry commits
    assert CaseTask.objects.get(kind=TaskKind.MESSAGE_FAILED).done_note == "retried"
    assert CaseEvent.objects.filter(case=failed.case, summary__contains="retried").exists()


def test_a_message_that_still_cannot_go_out_is_not_retried_and_says_why(manager_client):
    held = message(state=MessageState.SUPPRESSED, reason="no SMS consent recorded")
    held.patient.sms_consent = False
    held.patient.save()

    response = manager_client.post(reverse("outreach:message_retry", args=[held.pk]), follow=True)

    assert "It still cannot go out: no SMS consent recorded." in response.content.decode()
    held.refresh_from_db()
    assert held.state == MessageState.SUPPRESSED


def test_cancelling_keeps_the_message_on_record_as_cancelled(manager_client):
    failed = message()

    manager_client.post(reverse("outreach:message_cancel", args=[failed.pk]))

    failed.refresh_from_db()
    assert failed.state == MessageState.CANCELLED
    assert failed.state_reason.startswith("cancelled by")


def test_a_sent_message_cannot_be_cancelled(manager_client):
    sent = message(state=MessageState.SENT, reason="")

    response = manager_client.post(reverse("outreach:message_cancel", args=[sent.pk]), follow=True)

    assert "it can no longer be cancelled" in response.content.decode()
    sent.refresh_from_db()
    assert sent.state == MessageState.SENT


def test_the_page_shows_escalations_and_texts_nobody_could_be_matched_to(manager_client):
    failed = message()
    message_failure_escalate(message_id=failed.pk)
    InboundSms.objects.create(
        provider_id="SM1", from_number="+16175559999", body="Who is this?", intent="message"
    )

    html = manager_client.get(reverse("outreach:message_list")).content.decode()

    assert "Message failed" in html and "Who is this?" in html


# --- Rules -----------------------------------------------------------------------------------


def rules_url(code="colorectal"):
    return reverse("outreach:program_rules", args=[code])


def test_the_rules_page_shows_the_programs_reminder_and_task_rules(manager_client):
    page = manager_client.get(rules_url())

    html = page.content.decode()
    assert page.status_code == 200
    count = ReminderRule.objects.filter(program__code="colorectal").count()
    assert html.count('data-testid="reminder-rule"') == count
    assert html.count('data-testid="task-rule"') == 6


def test_a_manager_adds_a_reminder_rule_and_the_change_is_logged(manager_client):
    response = manager_client.post(
        rules_url(),
        {
            "form": "new",
            "new-trigger": ReminderTrigger.BEFORE_APPOINTMENT,
            "new-days": "2",
            "new-kind": "appointment_reminder",
            "new-at_time": "17:30",
            "new-channel": "sms",
            "new-modality": "",
            "new-priority": "4",
            "new-active": "on",
        },
    )

    assert response.status_code == 302
    rule = ReminderRule.objects.get(program__code="colorectal", days=2)
    assert rule.at_time == dt.time(17, 30) and rule.priority == 4
    entry = LogEntry.objects.get(object_id=str(rule.pk))
    assert "2 days before at 17:30" in entry.change_message


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"new-at_time": "22:00"}, "nothing reaches a patient outside those hours"),
        ({"new-kind": "recall"}, "Days before an appointment can send"),
        ({"new-days": "-1"}, "greater than or equal to 0"),
        ({"new-trigger": "after_kit_mailed", "new-kind": "kit_return", "new-days": "0"},
         "at least a day after"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_with_its_reason_and_nothing_is_saved(manager_client, fields, error):
    before = ReminderRule.objects.count()
    data = {
        "form": "new",
        "new-trigger": ReminderTrigger.BEFORE_APPOINTMENT,
        "new-days": "2",
        "new-kind": "appointment_reminder",
        "new-at_time": "10:00",
        "new-channel": "sms",
        "new-priority": "5",
        "new-active": "on",
        **fields,
    }

    response = manager_client.post(rules_url(), data)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert ReminderRule.objects.count() == before


def test_a_manager_changes_a_task_rule(manager_client):
    response = manager_client.post(
        rules_url(),
        {"form": "task:result_missing", "task-result_missing-days": "10",
         "task-result_missing-active": "on"},
    )  # fmt: skip

    assert response.status_code == 302
    rule = TaskRule.objects.get(program__code="colorectal", kind="result_missing")
    assert rule.days == 10 and rule.active
    assert "7 days → 10 days" in LogEntry.objects.get(object_id=str(rule.pk)).change_message


def test_a_manager_switches_a_reminder_rule_off(manager_client):
    rule = ReminderRule.objects.filter(program__code="colorectal").first()
    prefix = f"rule{rule.pk}"

    manager_client.post(
        rules_url(),
        {
            "form": f"rule:{rule.pk}",
            f"{prefix}-trigger": rule.trigger,
            f"{prefix}-days": rule.days,
            f"{prefix}-kind": rule.kind,
            f"{prefix}-at_time": rule.at_time.strftime("%H:%M"),
            f"{prefix}-channel": rule.channel,
            f"{prefix}-modality": rule.modality_id or "",
            f"{prefix}-priority": rule.priority,
        },
    )

    rule.refresh_from_db()
    assert not rule.active


def test_a_navigator_cannot_change_rules(client):
    client.force_login(factories.NavigatorFactory().user)

    response = client.post(
        rules_url(), {"form": "task:no_show", "task-no_show-days": "3", "task-no_show-active": "on"}
    )

    assert response.status_code == 403
    assert TaskRule.objects.get(program__code="colorectal", kind="no_show").days == 0


@pytest.mark.parametrize("which", ["rule:²", "rule:abc", "task:nothing", "bogus", ""])
def test_a_rule_form_that_names_no_rule_is_a_404_not_an_error(manager_client, which):
    response = manager_client.post(rules_url(), {"form": which})

    assert response.status_code == 404
