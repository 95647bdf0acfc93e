"""Ending an enrolment from the series page (navigator/views/group_classes.py
`group_enrolment_status`): withdrawing an enrolment already withdrawn says nothing
changed, and a refusal (a closed case's patient marked completed) is shown on the
page with status 400, nothing written."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from navigator.models import CaseEvent, CaseStatus, GroupEnrolment, NavigationCase
from tests import factories

pytestmark = pytest.mark.django_db


def post(client, enrolment, status):
    case = NavigationCase.objects.get(pk=enrolment.case_id)
    url = reverse("navigator:group_enrolment_status", args=[enrolment.pk])
    return client.post(url, {"status": status, "version": case.version})


def test_withdrawing_again_says_the_enrolment_was_already_withdrawn(client, navigator):
    # Given a patient of the navigator's withdrawn from a series
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator)
    client.force_login(navigator.user)
    post(client, enrolment, "withdrawn")
    events = CaseEvent.objects.count()

    # When the roster's Withdraw is sent again
    response = post(client, enrolment, "withdrawn")

    # Then the page says nothing changed, and nothing was written
    assert response.status_code == 302
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert f"Case #{enrolment.case_id}'s enrolment was already withdrawn; nothing changed." in said
    assert CaseEvent.objects.count() == events


def test_a_closed_cases_patient_marked_completed_is_refused_on_the_page(client, navigator):
    # Given a patient on the roster whose case has closed as unreachable
    enrolment = factories.GroupEnrolmentFactory(case__navigator=navigator)
    NavigationCase.objects.filter(pk=enrolment.case_id).update(status=CaseStatus.CLOSED_UNREACHABLE)
    client.force_login(navigator.user)
    events = CaseEvent.objects.count()

    # When the navigator marks them as having completed the series
    response = post(client, enrolment, "completed")

    # Then the page refuses it saying why, and nothing changes
    assert response.status_code == 400
    assert "closed: unreachable" in response.context["error"]
    assert GroupEnrolment.objects.get(pk=enrolment.pk).status == "enrolled"
    assert CaseEvent.objects.count() == events
