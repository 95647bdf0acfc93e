"""Results drive the next step: a result's category and its program's pathway decide
whether the screening is complete, needs a follow-up (with its due date), or hands
over to treatment; and the safety net keeps an unresolved result from closing
quietly."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from navigator.cases import case_transition
from navigator.models import (
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    FollowUpCloseReason,
    FollowUpState,
    NavigationCase,
    ResultFollowUp,
)
from navigator.services.appointments import appointment_book
from navigator.services.follow_ups import (
    follow_up_close_confirm,
    follow_up_close_dismiss,
    follow_up_close_propose,
)
from navigator.services.screenings import case_record_screening, kit_mail
from patients.models import ScreeningEvent
from tests import factories

NOW = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]
TODAY = dt.date(2026, 11, 24)


@pytest.fixture
def case():
    return factories.CaseFactory(status=CaseStatus.CONTACTING)


def record(
    case, test="fit", result="abnormal", performed_on=TODAY, resulted_on=None, program="colorectal"
):
    return case_record_screening(
        case=case.pk,
        modality=factories.modality(test, program),
        performed_on=performed_on,
        resulted_on=resulted_on,
        result=result,
        actor=case.navigator.user,
    )


def fresh(case) -> NavigationCase:
    return NavigationCase.objects.get(pk=case.pk)


# --- What a result leads to ------------------------------------------------------------


def test_a_normal_fit_completes_the_screening(case):
    record(case, result="normal")

    case = fresh(case)
    assert case.status == CaseStatus.COMPLETED
    assert case.completed_at is not None
    assert not ResultFollowUp.objects.filter(case=case).exists()


def test_an_abnormal_fit_is_not_a_completed_screening_but_a_colonoscopy_due_in_60_days(case):
    # When the FIT of 20 Nov comes back abnormal on 22 Nov
    screening = record(case, performed_on=dt.date(2026, 11, 20), resulted_on=dt.date(2026, 11, 22))

    # Then the case waits for a diagnostic colonoscopy, due 60 days after the result,
    # at the latest 6 months (the USMSTF's outer limit)
    case = fresh(case)
    assert case.status == CaseStatus.FOLLOW_UP_NEEDED
    assert case.get_status_display() == "Diagnostic follow-up needed"
    assert case.completed_at is None
    follow_up = ResultFollowUp.objects.get(case=case)
    assert follow_up.screening == screening
    assert follow_up.next_step == "Diagnostic colonoscopy"
    assert follow_up.next_modality.code == "colonoscopy"
    assert follow_up.due_on == dt.date(2027, 1, 21)
    assert follow_up.limit_on == dt.date(2027, 5, 21)
    assert "Robertson" in follow_up.pathway.source
    assert screening.category.code == "abnormal" and screening.result == "abnormal"
    opened = CaseEvent.objects.get(case=case, kind=CaseEventKind.FOLLOW_UP_OPENED)
    assert opened.summary.startswith("Diagnostic colonoscopy needed by 2027-01-21")


def test_an_inadequate_fit_needs_a_repeat_fit_and_a_new_kit_may_be_mailed(case):
    record(case, result="inadequate")

    case = fresh(case)
    assert case.status == CaseStatus.REPEAT_NEEDED
    assert ResultFollowUp.objects.get(case=case).next_modality.code == "fit"
    kit_mail(
        case=case, modality=factories.modality("fit"), mailed_on=TODAY, actor=case.navigator.user
    )


def test_a_bi_rads_4_mammogram_needs_a_biopsy_within_30_days():
    case = factories.CaseFactory(status=CaseStatus.CONTACTING, program=factories.program("breast"))

    record(case, test="mammography", result="birads-4", program="breast")

    follow_up = ResultFollowUp.objects.get(case=case)
    assert (follow_up.next_step, follow_up.due_on) == (
        "Breast biopsy",
        TODAY + dt.timedelta(days=30),
    )


@pytest.mark.parametrize(("category", "status"), [
    ("birads-1", CaseStatus.COMPLETED), ("birads-2", CaseStatus.COMPLETED),
    ("birads-0", CaseStatus.FOLLOW_UP_NEEDED), ("birads-3", CaseStatus.FOLLOW_UP_NEEDED),
    ("birads-5", CaseStatus.FOLLOW_UP_NEEDED),
])  # fmt: skip
def test_each_bi_rads_category_leads_where_the_acr_atlas_says(category, status):
    case = factories.CaseFactory(status=CaseStatus.CONTACTING, program=factories.program("breast"))

    record(case, test="mammography", result=category, program="breast")

    assert fresh(case).status == status


@pytest.mark.parametrize(("test", "category", "step"), [
    ("cotest", "hpv-positive-nilm", "Repeat HPV-based testing in 1 year"),
    ("cotest", "ascus-lsil", "Colposcopy"),
    ("cytology", "hsil", "Colposcopy (or expedited treatment)"),
    ("cytology", "unsatisfactory", "Repeat the test in 2-4 months"),
])  # fmt: skip
def test_cervical_results_follow_asccp_risk_based_management(test, category, step):
    patient = factories.PatientFactory(sex="female", birth_date=dt.date(1980, 1, 1))
    case = factories.CaseFactory(
        status=CaseStatus.CONTACTING, program=factories.program("cervical"), patient=patient
    )

    record(case, test=test, result=category, program="cervical")

    assert ResultFollowUp.objects.get(case=case).next_step == step


# --- The follow-up recorded ------------------------------------------------------------


def test_the_colonoscopy_recorded_normal_closes_the_loop(case):
    # Given an abnormal FIT, and the colonoscopy booked as its follow-up
    record(case, performed_on=dt.date(2026, 11, 2), resulted_on=dt.date(2026, 11, 2))
    # When the colonoscopy is recorded, normal
    colonoscopy = record(case, test="colonoscopy", result="normal")

    # Then the follow-up is done and the screening complete
    follow_up = ResultFollowUp.objects.get(case=case)
    assert (follow_up.state, follow_up.answered_by, follow_up.done_on) == (
        FollowUpState.DONE,
        colonoscopy,
        TODAY,
    )
    case = fresh(case)
    assert case.status == CaseStatus.COMPLETED and case.completed_at is not None
    done = CaseEvent.objects.get(case=case, kind=CaseEventKind.FOLLOW_UP_DONE)
    assert "22 days after the result" in done.summary


def test_a_cancer_found_hands_the_case_to_treatment_navigation(case):
    record(case)
    record(case, test="colonoscopy", result="cancer")

    case = fresh(case)
    assert case.status == CaseStatus.TREATMENT
    assert not case.is_open
    # The screening loop closed with a diagnosis: it counts as complete.
    assert case.completed_at is not None


def test_an_inadequate_colonoscopy_after_an_abnormal_fit_needs_a_repeat_colonoscopy(case):
    record(case)
    record(case, test="colonoscopy", result="inadequate")

    case = fresh(case)
    assert case.status == CaseStatus.REPEAT_NEEDED
    assert [f.state for f in ResultFollowUp.objects.filter(case=case).order_by("pk")] == [
        FollowUpState.DONE,
        FollowUpState.OPEN,
    ]


def test_another_fit_does_not_answer_an_abnormal_fit_and_changes_nothing(case):
    record(case)
    before = (ScreeningEvent.objects.count(), fresh(case).version)

    with pytest.raises(ValidationError) as refused:
        record(case, result="normal")

    assert "waits for diagnostic colonoscopy" in str(refused.value.message_dict["modality"])
    assert (ScreeningEvent.objects.count(), fresh(case).version) == before


def test_a_follow_up_cannot_be_dated_before_the_result_that_called_for_it(case):
    # Given a FIT done on 20 Nov whose result came back on 22 Nov
    record(case, performed_on=dt.date(2026, 11, 20), resulted_on=dt.date(2026, 11, 22))

    # Then a colonoscopy dated the 21st cannot be its follow-up
    with pytest.raises(ValidationError) as refused:
        record(case, test="colonoscopy", result="normal", performed_on=dt.date(2026, 11, 21))

    assert "cannot come before the result that called for it" in str(
        refused.value.message_dict["performed_on"]
    )


def test_a_diagnostic_test_is_not_recorded_without_a_result_that_calls_for_it():
    case = factories.CaseFactory(status=CaseStatus.CONTACTING, program=factories.program("breast"))

    with pytest.raises(ValidationError) as refused:
        record(case, test="breast-biopsy", result="benign-biopsy", program="breast")

    assert "is a diagnostic test" in str(refused.value.message_dict["modality"])


def test_a_category_that_is_not_the_tests_is_refused_by_name(case):
    with pytest.raises(ValidationError) as refused:
        record(case, result="birads-4")

    message = str(refused.value.message_dict["result"])
    assert "not a result category for FIT" in message and "abnormal" in message


def test_only_the_follow_up_can_be_booked_while_it_is_open(case):
    record(case)
    when = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)

    with pytest.raises(ValidationError) as refused:
        appointment_book(case=case.pk, scheduled_at=when, site="Lab", actor=case.navigator.user)
    assert "book it as the follow-up" in str(refused.value.message_dict["purpose"])

    booked = appointment_book(
        case=case.pk, scheduled_at=when, site="GI", actor=case.navigator.user, purpose="diagnostic"
    )
    assert booked.modality.code == "colonoscopy"
    assert fresh(case).status == CaseStatus.FOLLOW_UP_NEEDED


# --- Closing: never quietly ------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [CaseStatus.CLOSED, CaseStatus.COMPLETED, CaseStatus.DECLINED, CaseStatus.INELIGIBLE,
     CaseStatus.CLOSED_UNREACHABLE],
)  # fmt: skip
def test_a_case_with_an_unresolved_result_cannot_be_closed_directly(case, manager, status):
    record(case)

    with pytest.raises(ValidationError):
        case_transition(case=case.pk, to_status=status, actor=manager)

    assert fresh(case).status == CaseStatus.FOLLOW_UP_NEEDED


def test_closing_without_the_follow_up_needs_the_safety_net(case, manager):
    record(case)

    with pytest.raises(ValidationError) as refused:
        case_transition(case=case.pk, to_status=CaseStatus.FOLLOW_UP_CLOSED, actor=manager)

    assert "a program manager's confirmation" in str(refused.value.message_dict["status"])


def test_a_proposal_needs_a_listed_reason_and_a_note(case):
    record(case)
    nav = case.navigator.user

    with pytest.raises(ValidationError) as refused:
        follow_up_close_propose(case=case.pk, reason="patient says he is fine", note="x", actor=nav)
    assert "listed reasons" in str(refused.value.message_dict["reason"])
    with pytest.raises(ValidationError) as refused:
        follow_up_close_propose(case=case.pk, reason="declined_informed", note="  ", actor=nav)
    assert "what was discussed" in str(refused.value.message_dict["note"])
    assert ResultFollowUp.objects.get(case=case).close_reason == ""


def test_unreachable_needs_the_protocols_attempts_since_the_result(case):
    record(case, performed_on=dt.date(2026, 11, 10), resulted_on=dt.date(2026, 11, 12))
    nav = case.navigator.user
    for day in (13, 16):
        factories.ContactAttemptFactory(
            case=case, attempted_at=dt.datetime(2026, 11, day, 15, tzinfo=dt.UTC)
        )

    with pytest.raises(ValidationError) as refused:
        follow_up_close_propose(case=case.pk, reason="unreachable", note="Called twice", actor=nav)
    assert "at least 3 attempts since the result (2 so far)" in str(refused.value)

    factories.ContactAttemptFactory(
        case=case, attempted_at=dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)
    )
    follow_up_close_propose(
        case=case.pk, reason="unreachable", note="Three calls, a letter", actor=nav
    )
    assert fresh(case).status == CaseStatus.FOLLOW_UP_NEEDED  # not closed until a manager confirms


def test_a_navigator_proposes_and_only_a_manager_confirms(case, manager):
    record(case)
    nav = case.navigator.user
    follow_up_close_propose(
        case=case.pk, reason=FollowUpCloseReason.DONE_ELSEWHERE,
        note="Colonoscopy at Mercy on 3 Nov; report scanned", actor=nav,
    )  # fmt: skip

    with pytest.raises(PermissionDenied):
        follow_up_close_confirm(case=case.pk, actor=nav)
    assert fresh(case).is_open

    follow_up_close_confirm(case=case.pk, actor=manager)

    case = fresh(case)
    assert case.status == CaseStatus.FOLLOW_UP_CLOSED and not case.is_open
    assert case.completed_at is None  # not a completed loop
    follow_up = ResultFollowUp.objects.get(case=case)
    assert (follow_up.state, follow_up.close_reason, follow_up.closed_by) == (
        FollowUpState.CLOSED,
        "done_elsewhere",
        manager,
    )
    closed = CaseEvent.objects.get(case=case, kind=CaseEventKind.FOLLOW_UP_CLOSED)
    assert closed.actor == manager and closed.data["proposed_by"] == nav.pk


def test_a_manager_may_keep_the_case_open_instead(case, manager):
    record(case)
    follow_up_close_propose(
        case=case.pk, reason="moved", note="Moved to Puerto Rico", actor=case.navigator.user
    )

    follow_up_close_dismiss(case=case.pk, actor=manager, note="Ask for her new doctor first")

    follow_up = ResultFollowUp.objects.get(case=case)
    assert (follow_up.state, follow_up.close_reason) == (FollowUpState.OPEN, "")
    with pytest.raises(ValidationError):
        follow_up_close_confirm(case=case.pk, actor=manager)  # nothing proposed now
    assert fresh(case).is_open


def test_the_database_refuses_a_closed_follow_up_without_reason_and_manager(case):
    from django.db import IntegrityError, transaction

    record(case)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResultFollowUp.objects.filter(case=case).update(state="closed")


def test_every_abnormal_or_inadequate_result_of_every_test_has_a_seeded_next_step():
    # The seed leaves no abnormal or inadequate result that would call for nothing
    from patients.models import ResultCategory
    from patients.result_pathways import pathway_for

    for category in ResultCategory.objects.filter(meaning__in=["abnormal", "inadequate"]):
        for modality in category.modalities.all():
            assert pathway_for(category=category, modality=modality) is not None, (
                category.program.code,
                category.code,
                modality.code,
            )


def test_a_case_marked_complete_before_categories_with_an_abnormal_result_is_reopened():
    # Given a case "completed" before issue 12 on an abnormal FIT (categories backfilled)
    import importlib

    from django.apps import apps

    from patients.models import ResultCategory

    case = factories.CaseFactory(status=CaseStatus.COMPLETED)
    normal_case = factories.CaseFactory(status=CaseStatus.COMPLETED)
    abnormal = ResultCategory.objects.get(program__code="colorectal", code="abnormal")
    normal = ResultCategory.objects.get(program__code="colorectal", code="normal")
    ScreeningEvent.objects.create(
        patient=case.patient, case=case, modality=factories.modality("fit"),
        performed_on=dt.date(2026, 10, 1), result="abnormal", category=abnormal,
    )  # fmt: skip
    ScreeningEvent.objects.create(
        patient=normal_case.patient, case=normal_case, modality=factories.modality("fit"),
        performed_on=dt.date(2026, 10, 1), result="normal", category=normal,
    )  # fmt: skip

    # When the data migration runs
    migration = importlib.import_module(
        "navigator.migrations.0013_follow_ups_for_earlier_abnormal_results"
    )
    migration.reopen(apps, None)

    # Then the abnormal one waits for its colonoscopy, due 60 days after the result,
    # and says why on its timeline; the normal one stays complete
    case = fresh(case)
    assert (case.status, case.completed_at) == (CaseStatus.FOLLOW_UP_NEEDED, None)
    follow_up = ResultFollowUp.objects.get(case=case)
    assert follow_up.due_on == dt.date(2026, 11, 30)
    assert CaseEvent.objects.filter(case=case, summary__contains="calls for it").exists()
    assert fresh(normal_case).status == CaseStatus.COMPLETED
    # And running it again changes nothing
    migration.reopen(apps, None)
    assert ResultFollowUp.objects.filter(case=case).count() == 1
