"""The case page's tasks and kits, and what it shows of texts and numbers."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from navigator.models import KitMailing
from outreach.models import CaseTask, PatientMessage
from outreach.services.navigator_tasks import case_tasks_scan
from patients.models import PatientPhone
from tests import factories

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_case_page_lists_the_open_tasks_and_a_navigator_closes_one(client):
    # Given a prep call due on the navigator's case
    appointment = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    case = appointment.case
    case_tasks_scan()
    task = CaseTask.objects.get()
    signed_in(client, case.navigator.user)

    # When the navigator opens the case
    page = client.get(reverse("navigator:case_detail", args=[case.pk]))

    # Then the task is at the top with a Done form
    html = page.content.decode()
    assert 'data-testid="case-tasks"' in html and task.summary in html

    # And marking it done (with htmx) removes it and says so
    case.refresh_from_db()
    response = client.post(
        reverse("navigator:task_done", args=[case.pk]),
        {"task": task.pk, "note": "Talked her through the prep", "version": case.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Task done." in response.content.decode()
    assert 'data-testid="case-task"' not in response.content.decode()
    task.refresh_from_db()
    assert task.done_note == "Talked her through the prep"


def test_a_navigator_cannot_close_a_task_of_another_case_through_this_one(client):
    mine = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1)).case
    theirs = factories.AppointmentFactory(scheduled_at=NOW + dt.timedelta(days=1))
    case_tasks_scan()
    their_task = CaseTask.objects.get(case=theirs.case)
    signed_in(client, mine.navigator.user)

    response = client.post(
        reverse("navigator:task_done", args=[mine.pk]), {"task": their_task.pk, "version": 1}
    )

    assert response.status_code == 404
    their_task.refresh_from_db()
    assert their_task.done_at is None


def test_escalations_show_to_managers_on_the_case_but_not_to_navigators(client):
    with time_machine.travel(NOW - dt.timedelta(days=20), tick=False):
        case = factories.CaseFactory()
    case_tasks_scan()

    navigator_view = signed_in(client, case.navigator.user).get(
        reverse("navigator:case_detail", args=[case.pk])
    )
    manager_view = signed_in(client, factories.ManagerFactory()).get(
        reverse("navigator:case_detail", args=[case.pk])
    )

    assert "Escalated to managers" not in navigator_view.content.decode()
    assert "Escalated to managers" in manager_view.content.decode()


def test_a_navigator_records_a_fit_kit_mailed_and_its_reminders_appear(client):
    patient = factories.PatientFactory(
        sms_consent=True, time_zone="America/New_York", phone="+16175550123"
    )
    case = factories.CaseFactory(patient=patient)
    signed_in(client, case.navigator.user)

    response = client.post(
        reverse("navigator:kit_create", args=[case.pk]),
        {"modality": factories.modality("fit").pk, "mailed_on": "2026-11-24", "version": 1},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200 and "Kit recorded as mailed" in html
    assert 'data-testid="kit"' in html and "Awaiting return" in html
    assert html.count("Mailed kit return reminder") == 2
    assert KitMailing.objects.filter(case=case).count() == 1


def test_a_kit_form_with_a_date_ahead_is_refused_with_its_reason_and_saves_nothing(client):
    case = factories.CaseFactory()
    signed_in(client, case.navigator.user)

    response = client.post(
        reverse("navigator:kit_create", args=[case.pk]),
        {"modality": factories.modality("fit").pk, "mailed_on": "2026-12-01", "version": 1},
    )

    assert response.status_code == 400
    assert "The mailing date cannot be in the future." in response.content.decode()
    assert not KitMailing.objects.exists() and not PatientMessage.objects.exists()


def test_the_kit_form_offers_only_home_tests(client):
    case = factories.CaseFactory(program=factories.program("breast"))
    signed_in(client, case.navigator.user)

    page = client.get(reverse("navigator:case_detail", args=[case.pk]))

    assert 'data-testid="kit-form"' not in page.content.decode()


def test_an_undeliverable_number_is_flagged_on_the_case_page(client):
    case = factories.CaseFactory(patient=factories.PatientFactory(phone="+16175550123"))
    PatientPhone.objects.filter(patient=case.patient).update(
        undeliverable="Texts undeliverable: a landline (SMS provider, 2026-11-24)"
    )
    signed_in(client, case.navigator.user)

    page = client.get(reverse("navigator:case_detail", args=[case.pk]))

    assert "Texts undeliverable: a landline" in page.content.decode()


def test_the_worklist_lists_the_navigators_tasks_due_but_not_escalations(client):
    # Given a no-show on Ana's case and a case of hers quiet for three weeks
    missed = factories.AppointmentFactory(
        scheduled_at=NOW - dt.timedelta(hours=2), status="no_show"
    )
    with time_machine.travel(NOW - dt.timedelta(days=21), tick=False):
        factories.CaseFactory(navigator=missed.case.navigator)
    factories.AppointmentFactory(scheduled_at=NOW - dt.timedelta(hours=1), status="no_show")
    case_tasks_scan()
    signed_in(client, missed.case.navigator.user)

    # When she opens her worklist
    page = client.get(reverse("navigator:worklist"))

    # Then her no-show is listed, not the other navigator's, not the escalation
    html = page.content.decode()
    assert 'data-testid="worklist-tasks"' in html
    assert html.count("No-show on Tue 24 Nov: call to re-book") == 1
    assert "No contact attempt since" not in html


@pytest.mark.parametrize("task_id", ["²", "1e3", "", "-1", "99999999999999999999"])
def test_a_task_id_that_is_not_one_is_a_404_not_an_error(client, task_id):
    case = factories.CaseFactory()
    signed_in(client, case.navigator.user)

    response = client.post(reverse("navigator:task_done", args=[case.pk]), {"task": task_id})

    assert response.status_code == 404
