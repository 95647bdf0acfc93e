"""Adversarial review of issue 12 ("close the loop truthfully"): each test shows a
defect and fails until it is fixed."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from navigator.cases import case_transition
from navigator.models import CaseStatus, FollowUpState, NavigationCase, ResultFollowUp
from navigator.services.screenings import case_record_screening
from tests import factories
from tests.support.api import api_as

NOW = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 24)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def fresh(case) -> NavigationCase:
    return NavigationCase.objects.get(pk=case.pk)


def record(case, test="fit", result="abnormal", performed_on=TODAY, resulted_on=None):
    return case_record_screening(
        case=case.pk,
        modality=factories.modality(test, case.program.code),
        performed_on=performed_on,
        resulted_on=resulted_on,
        result=result,
        actor=case.navigator.user,
    )


@pytest.fixture
def waiting(navigator):
    """A case whose abnormal FIT waits for a diagnostic colonoscopy."""
    case = factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    record(case)
    case = fresh(case)
    assert case.status == CaseStatus.FOLLOW_UP_NEEDED
    return case


# --- 1. A person can close the loop by hand, around the result ------------------------


def test_api_transition_refuses_handing_an_unresolved_result_to_treatment(waiting, navigator):
    # A navigator posts "treatment" on a case whose abnormal FIT still waits for its
    # colonoscopy: no diagnosis was recorded, and nothing closes without the safety net.
    response = api_as(navigator.user).post(
        f"/api/cases/{waiting.pk}/transition/", {"status": "treatment"}
    )

    assert response.status_code == 400, response.content
    case = fresh(waiting)
    assert case.status == CaseStatus.FOLLOW_UP_NEEDED
    assert case.completed_at is None


def test_case_page_transition_refuses_treatment_on_an_unresolved_result(client, waiting, navigator):
    client.force_login(navigator.user)
    client.post(
        f"/cases/{waiting.pk}/status/",
        {"status": "treatment", "version": waiting.version, "note": "x"},
    )
    case = fresh(waiting)
    assert case.status == CaseStatus.FOLLOW_UP_NEEDED
    assert case.completed_at is None


def test_kernel_refuses_a_result_status_not_set_by_a_recorded_result(waiting, navigator):
    # Result statuses follow from recording a test; chosen by hand they lie: a
    # diagnostic follow-up relabelled "repeat test needed", or a diagnosis nobody made.
    for target in (CaseStatus.REPEAT_NEEDED, CaseStatus.TREATMENT):
        with pytest.raises(ValidationError):
            case_transition(case=waiting.pk, to_status=target, actor=navigator.user)
    assert fresh(waiting).status == CaseStatus.FOLLOW_UP_NEEDED
    assert ResultFollowUp.objects.get(case=waiting).state == FollowUpState.OPEN


# --- 2. "Proposed for closing as unreachable" on a case waiting for its follow-up ------


def test_attempt_timeline_does_not_claim_an_unreachable_proposal_that_was_not_made(navigator):
    from navigator.models import CaseEventKind
    from outreach.services.attempts import attempt_log

    case = factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    record(
        case, performed_on=TODAY - dt.timedelta(days=40), resulted_on=TODAY - dt.timedelta(days=38)
    )
    for days_ago in (30, 25, 20, 15, 10, 5, 0):
        attempt_log(
            case=case.pk,
            channel="phone",
            outcome="no_answer",
            actor=navigator.user,
            attempted_at=NOW - dt.timedelta(days=days_ago),
        )
    case = fresh(case)
    assert case.status == CaseStatus.FOLLOW_UP_NEEDED
    # The kernel refuses "unreachable" here (rightly: the safety net's reason is the
    # way), so no proposal was recorded; the timeline must not say one was.
    assert case.unreachable_proposed_at is None
    last = case.events.filter(kind=CaseEventKind.ATTEMPT_LOGGED).order_by("-pk").first()
    assert "proposed for closing as unreachable" not in last.summary


def test_an_unreachable_proposal_does_not_outlive_an_abnormal_result(navigator, manager):
    from outreach.services.unreachable import case_unreachable_propose

    case = factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    case_unreachable_propose(case=case.pk, actor=navigator.user, note="tried everything")
    record(case)  # the patient turned up with a FIT after all: abnormal
    case = fresh(case)
    assert case.status == CaseStatus.FOLLOW_UP_NEEDED
    # Left standing, the case is listed for a manager's "close as unreachable", which
    # the kernel then refuses (follow_up_needed -> closed_unreachable is illegal).
    assert case.unreachable_proposed_at is None


# --- 3. The API cannot book the follow-up the result calls for ------------------------


def test_api_books_the_diagnostic_colonoscopy_of_a_case_waiting_for_it(waiting, navigator):
    from navigator.models import Appointment

    response = api_as(navigator.user).post(
        f"/api/cases/{waiting.pk}/appointments/",
        {
            "scheduled_at": (NOW + dt.timedelta(days=10)).isoformat(),
            "site": "MGH Endoscopy Center",
            "modality": "colonoscopy",
        },
    )
    # Refused today: the endpoint has no purpose and books a "screening", which a
    # case waiting for its follow-up refuses ("book it as the follow-up").
    assert response.status_code == 201, response.content
    assert Appointment.objects.get(case=waiting).purpose == "diagnostic"


# --- 4. The patients API says "up to date" of an unresolved abnormal result ------------


def test_patient_api_care_gaps_name_the_unresolved_result(waiting, navigator):
    response = api_as(navigator.user).get(f"/api/patients/{waiting.patient_id}/care-gaps/")
    assert response.status_code == 200, response.content
    gap = next(g for g in response.json() if g["program"] == "colorectal")
    assert gap["status_display"] == "Up to date"  # the measure's view (the FIT was done)
    # ... but nothing beside it says the FIT was abnormal and the colonoscopy is due, as
    # the patient page and the care-gap list do (patients.selectors.with_open_loop).
    assert "Diagnostic follow-up needed" in response.content.decode()


# --- 5. A follow-up "done" before the result that called for it -----------------------


def test_a_follow_up_cannot_be_done_before_the_result_came_back(navigator):
    case = factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    # The FIT of 1 Nov came back abnormal on 20 Nov
    record(case, performed_on=dt.date(2026, 11, 1), resulted_on=dt.date(2026, 11, 20))
    # A colonoscopy dated 10 Nov cannot be the follow-up of a result nobody had yet:
    # it is accepted and the follow-up is "done ... -10 days after the result".
    with pytest.raises(ValidationError):
        record(case, test="colonoscopy", result="normal", performed_on=dt.date(2026, 11, 10))
    assert ResultFollowUp.objects.get(case=case).state == FollowUpState.OPEN


# --- 6. The safety net confirms a stale "unreachable" -----------------------------------


def test_manager_cannot_confirm_unreachable_after_the_patient_was_reached(navigator, manager):
    from navigator.models import FollowUpCloseReason
    from navigator.services.follow_ups import follow_up_close_propose
    from outreach.services.attempts import attempt_log

    case = factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    day = TODAY - dt.timedelta(days=20)
    record(case, performed_on=day, resulted_on=day)
    for days_ago in (15, 10, 5):
        attempt_log(
            case=case.pk, channel="phone", outcome="no_answer", actor=navigator.user,
            attempted_at=NOW - dt.timedelta(days=days_ago),
        )  # fmt: skip
    follow_up_close_propose(
        case=case.pk,
        reason=FollowUpCloseReason.UNREACHABLE,
        note="Three calls, no answer",
        actor=navigator.user,
    )
    # The patient then answers: the proposal's premise is gone (the unreachable
    # proposal of outreach is withdrawn on a reach; this one is not).
    attempt_log(case=case.pk, channel="phone", outcome="reached", actor=navigator.user)

    # The API's version is optional, so nothing stops the manager's confirmation
    response = api_as(manager).post(f"/api/cases/{case.pk}/follow-up/close/confirm/", {})

    assert response.status_code == 400, response.content
    assert fresh(case).status == CaseStatus.FOLLOW_UP_NEEDED


# --- 7. Deactivating a pathway turns an abnormal result into a "complete" screening ---


def test_an_abnormal_fit_never_completes_the_screening_whatever_the_pathways(navigator, manager):
    from patients.models import FollowUpPathway
    from patients.services.result_pathways import PathwayChange, follow_up_pathway_update

    pathway = FollowUpPathway.objects.get(
        program__code="colorectal", category__code="abnormal", active=True
    )
    # Refusing to leave an abnormal result without a next step is one fix.
    with contextlib.suppress(ValidationError):
        follow_up_pathway_update(
            pathway=pathway,
            change=PathwayChange(
                next_step=pathway.next_step,
                target_days=pathway.target_days,
                limit_days=pathway.limit_days,
                active=False,
            ),
            summary="tidying up",
            actor=manager,
        )

    case = factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    with contextlib.suppress(ValidationError):  # so is refusing to record it
        record(case)
    case = fresh(case)
    # Today: "Screening complete", counted as a closed loop, for a positive FIT.
    assert case.status != CaseStatus.COMPLETED
    assert case.completed_at is None


# --- 8. A patient handed to treatment for cancer is recalled for routine screening ----


def test_no_routine_recall_for_a_patient_handed_to_treatment_for_cancer(navigator):
    from outreach.messaging.patient_reminders import recall_messages_schedule

    patient = factories.PatientFactory(sms_consent=True, phone="+16175550123")
    case = factories.CaseFactory(
        navigator=navigator,
        patient=patient,
        program=factories.program("breast"),
        status=CaseStatus.CONTACTING,
        opened_at=NOW - dt.timedelta(days=720),
    )
    mammogram = TODAY - dt.timedelta(days=710)  # 24-month interval: due in ~20 days
    record(case, test="mammography", result="birads-4", performed_on=mammogram,
           resulted_on=mammogram)  # fmt: skip
    biopsy = mammogram + dt.timedelta(days=14)
    record(case, test="breast-biopsy", result="cancer", performed_on=biopsy, resulted_on=biopsy)
    assert fresh(case).status == CaseStatus.TREATMENT

    made = recall_messages_schedule(today=TODAY)

    # "Time for your routine mammogram" to a woman whose biopsy found cancer and who
    # is with treatment navigation: the recall only skips patients with an open case.
    assert [m for m in made if m.patient_id == patient.pk] == []
