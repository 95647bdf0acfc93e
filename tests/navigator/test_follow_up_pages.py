"""The loop's state where people look: the case page (with the safety net's forms),
the managers' list of results to follow up, the patient page and care-gap list, the
clinic's words, the API, and the pathways' page where managers edit them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from navigator.models import CaseStatus, FollowUpState, NavigationCase, ResultFollowUp
from navigator.services.screenings import case_record_screening
from patients.models import CLINIC_STATUS_LABELS, FollowUpPathway, RuleVersion
from tests import factories
from tests.support.api import api_as

NOW = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def case():
    return factories.CaseFactory(status=CaseStatus.CONTACTING)


def client_for(client, user):
    client.force_login(user)
    return client


def test_the_case_page_records_a_category_and_shows_the_follow_up_with_its_due_date(client, case):
    nav = client_for(client, case.navigator.user)

    response = nav.post(
        reverse("navigator:screening_create", args=[case.pk]),
        {
            "modality": factories.modality("fit").pk,
            "performed_on": "2026-11-20",
            "resulted_on": "2026-11-22",
            "result": "abnormal",
            "version": case.version,
        },
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Diagnostic follow-up needed" in html
    assert 'Due by <time datetime="2027-01-21">' in html
    assert "Screening test done Nov 20, 2026" in html  # beside the header's status
    assert "Up to date" not in html
    # Only the colonoscopy is offered to record now, with its own categories
    assert 'data-testid="diagnostic-form"' in html
    assert "Record the diagnostic colonoscopy and its result" in html


def test_a_navigator_proposes_closing_and_a_manager_confirms_on_the_case_page(
    client, case, manager
):
    factories.result_recorded(case, performed_on=dt.date(2026, 11, 1))
    nav = client_for(client, case.navigator.user)

    # The status form offers no way to close the case
    page = nav.get(reverse("navigator:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="follow-up-close-form"' in page
    assert 'value="declined"' not in page and 'value="closed"' not in page

    response = nav.post(
        reverse("navigator:follow_up_close_propose", args=[case.pk]),
        {"reason": "declined_informed", "note": "Discussed with an interpreter; declines"},
        **HTMX,
    )
    assert "Closing without the follow-up proposed" in response.content.decode()
    # A navigator cannot confirm
    refused = nav.post(reverse("navigator:follow_up_close_confirm", args=[case.pk]), {}, **HTMX)
    assert refused.status_code == 403

    boss = client_for(client, manager)
    boss.post(reverse("navigator:follow_up_close_confirm", args=[case.pk]), {}, **HTMX)
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.FOLLOW_UP_CLOSED


def test_a_proposal_with_an_unlisted_reason_is_refused_on_the_page_and_changes_nothing(
    client, case
):
    factories.result_recorded(case)
    nav = client_for(client, case.navigator.user)

    response = nav.post(
        reverse("navigator:follow_up_close_propose", args=[case.pk]),
        {"reason": "patient_says_fine", "note": "He is fine"},
        **HTMX,
    )

    assert "Select a valid choice" in response.content.decode()
    assert ResultFollowUp.objects.get(case=case).close_reason == ""


def test_the_managers_list_puts_overdue_results_first_with_the_counts_on_top(client, manager):
    recent = factories.CaseFactory(status=CaseStatus.CONTACTING)
    factories.result_recorded(recent, performed_on=TODAY - dt.timedelta(days=10))
    overdue = factories.CaseFactory(status=CaseStatus.CONTACTING)
    factories.result_recorded(overdue, performed_on=TODAY - dt.timedelta(days=70))
    done = factories.CaseFactory(status=CaseStatus.CONTACTING)
    factories.result_recorded(done, performed_on=TODAY - dt.timedelta(days=30))
    case_record_screening(
        case=done, modality=factories.modality("colonoscopy"), performed_on=TODAY,
        result="normal", actor=done.navigator.user,
    )  # fmt: skip

    response = client_for(client, manager).get(reverse("navigator:follow_up_list"))

    html = response.content.decode()
    assert response.status_code == 200
    counts = html[html.index('data-testid="follow-up-counts"') :][:400]
    assert "<strong>2</strong> results waiting" in counts
    assert "<strong>1</strong> overdue" in counts
    assert html.index(f"Case #{overdue.pk}") < html.index(f"Case #{recent.pk}")
    # The one done is listed apart, with how long it took
    recent_part = html[html.index('data-testid="recent-follow-ups"') :]
    assert f"Case #{done.pk}" in recent_part and "30 days after the result" in recent_part
    assert ResultFollowUp.objects.get(case=done).state == FollowUpState.DONE


@pytest.mark.parametrize("who", ["navigator", "clinic_staff"])
def test_only_managers_see_the_list_of_results_to_follow_up(client, who, navigator, clinic_staff):
    user = navigator.user if who == "navigator" else clinic_staff
    response = client_for(client, user).get(reverse("navigator:follow_up_list"))
    assert response.status_code == 403


def test_the_patient_page_and_care_gap_list_say_follow_up_needed_not_up_to_date(
    client, case, manager
):
    # Given an abnormal FIT recorded through the service (which recomputes the care gap)
    from navigator.services.screenings import case_record_screening

    case_record_screening(
        case=case, modality=factories.modality("fit"), performed_on=TODAY, result="abnormal",
        actor=case.navigator.user,
    )  # fmt: skip
    boss = client_for(client, manager)

    patient_page = boss.get(reverse("patients:patient_detail", args=[case.patient_id])).content
    gaps = boss.get(reverse("patients:care_gap_list") + "?program=colorectal").content

    for html in (patient_page.decode(), gaps.decode()):
        assert "Diagnostic follow-up needed" in html
        assert "diagnostic colonoscopy due by 2027-01-23" in html


def test_the_referring_clinic_reads_follow_up_needed_not_completed(case):
    # Given an abnormal FIT on the case (every status's words for the clinic are pinned
    # in tests/patients/test_pages_referrals.py; the page itself in test_referral_loop.py)
    factories.result_recorded(case)

    # Then the clinic's step for the case is the follow-up, not a completed screening
    status = NavigationCase.objects.get(pk=case.pk).status
    assert CLINIC_STATUS_LABELS[status] == "Diagnostic follow-up needed"
    assert set(CLINIC_STATUS_LABELS) == set(CaseStatus.values)


def test_the_api_records_a_category_and_refuses_another_programs(case):
    api = api_as(case.navigator.user)
    url = f"/api/cases/{case.pk}/screening/"

    bad = api.post(url, {"modality": "fit", "performed_on": "2026-11-20", "result": "birads-4"},
                   format="json")  # fmt: skip
    assert bad.status_code == 400
    assert "not a result category for FIT" in str(bad.json())

    ok = api.post(url, {"modality": "fit", "performed_on": "2026-11-20", "result": "abnormal"},
                  format="json")  # fmt: skip
    assert ok.status_code in {200, 201}, ok.content
    assert NavigationCase.objects.get(pk=case.pk).status == CaseStatus.FOLLOW_UP_NEEDED


def test_the_programs_api_lists_categories_and_pathways_with_sources(navigator):
    response = api_as(navigator.user).get("/api/programs/colorectal/")

    body = response.json()
    roles = {m["code"]: m["role"] for m in body["modalities"]}
    assert (roles["fit"], roles["colonoscopy"]) == ("screening", "screening")
    abnormal = next(p for p in body["follow_up_pathways"] if p["category"] == "abnormal")
    assert (abnormal["next_test"], abnormal["target_days"], abnormal["limit_days"]) == (
        "colonoscopy",
        60,
        180,
    )
    assert "Robertson" in abnormal["source"]
    assert any(
        c["code"] == "cancer" and c["meaning"] == "diagnosis" for c in body["result_categories"]
    )


# --- Managers edit the pathways; each change is a rules version ---------------------------


def test_a_manager_changes_a_target_and_a_new_rules_version_records_it(client, manager):
    pathway = FollowUpPathway.objects.get(program__code="colorectal", category__code="abnormal")
    versions = RuleVersion.objects.filter(program__code="colorectal").count()
    boss = client_for(client, manager)

    response = boss.post(
        reverse("patients:program_pathways", args=["colorectal"]),
        {"pathway": pathway.pk, "next_step": "Diagnostic colonoscopy", "target_days": 45,
         "limit_days": 180, "active": "on", "summary": "Tighter target agreed with GI"},
    )  # fmt: skip

    assert response.status_code == 302
    pathway.refresh_from_db()
    assert pathway.target_days == 45
    version = RuleVersion.objects.filter(program__code="colorectal").order_by("-number").first()
    assert RuleVersion.objects.filter(program__code="colorectal").count() == versions + 1
    assert version.changed_by == manager and version.summary == "Tighter target agreed with GI"
    page = boss.get(reverse("patients:program_rules", args=["colorectal"])).content.decode()
    assert "target_days: 60 → 45" in page


def test_a_limit_before_the_target_is_refused_and_changes_nothing(client, manager):
    pathway = FollowUpPathway.objects.get(program__code="colorectal", category__code="abnormal")

    response = client_for(client, manager).post(
        reverse("patients:program_pathways", args=["colorectal"]),
        {"pathway": pathway.pk, "next_step": "Colonoscopy", "target_days": 90, "limit_days": 30,
         "active": "on", "summary": "Oops"},
    )  # fmt: skip

    assert response.status_code == 400
    assert "outer limit cannot come before the target" in response.content.decode()
    pathway.refresh_from_db()
    assert (pathway.target_days, pathway.limit_days) == (60, 180)


def test_navigators_cannot_edit_pathways(client, navigator):
    response = client_for(client, navigator.user).get(
        reverse("patients:program_pathways", args=["colorectal"])
    )
    assert response.status_code == 403


def test_a_new_pathway_replaces_the_one_for_the_same_result_in_one_version(client, manager):
    from patients.models import ResultCategory, ScreeningModality

    old = FollowUpPathway.objects.get(program__code="colorectal", category__code="abnormal")
    boss = client_for(client, manager)

    response = boss.post(
        reverse("patients:program_pathways", args=["colorectal"]),
        {"action": "add",
         "category": ResultCategory.objects.get(program__code="colorectal", code="abnormal").pk,
         "kind": "diagnostic", "next_step": "Diagnostic colonoscopy (open access)",
         "next_modality": ScreeningModality.objects.get(code="colonoscopy").pk,
         "target_days": 30, "limit_days": 180, "source": "Programme decision, Dec 2026",
         "summary": "Open-access colonoscopy"},
    )  # fmt: skip

    assert response.status_code == 302
    old.refresh_from_db()
    assert not old.active
    new = FollowUpPathway.objects.get(
        program__code="colorectal", category__code="abnormal", active=True
    )
    assert new.target_days == 30


# --- The safety net through the API --------------------------------------------------------


def test_the_api_proposes_closing_and_only_a_manager_confirms(case, manager):
    factories.result_recorded(case)
    nav_api = api_as(case.navigator.user)
    url = f"/api/cases/{case.pk}/follow-up/close/"

    bad = nav_api.post(url, {"reason": "fine", "note": "He is fine"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()
    proposed = nav_api.post(
        url, {"reason": "moved", "note": "Moved to Texas; her new PCP has the result"},
        format="json",
    )  # fmt: skip
    assert proposed.status_code == 200, proposed.content
    [follow_up] = proposed.json()["follow_ups"]
    assert (follow_up["state"], follow_up["close_reason"]) == ("open", "moved")
    assert follow_up["next_test"] == "colonoscopy"

    assert nav_api.post(url + "confirm/", {}, format="json").status_code == 403
    confirmed = api_as(manager).post(url + "confirm/", {}, format="json")
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == CaseStatus.FOLLOW_UP_CLOSED
    assert confirmed.json()["follow_ups"][0]["state"] == "closed"


def test_the_api_keeps_a_case_open_when_a_manager_dismisses(case, manager):
    factories.result_recorded(case)
    url = f"/api/cases/{case.pk}/follow-up/close/"
    api_as(case.navigator.user).post(
        url, {"reason": "declined_informed", "note": "Declines"}, format="json"
    )

    response = api_as(manager).post(url + "dismiss/", {"note": "Try with an interpreter"},
                                    format="json")  # fmt: skip

    assert response.status_code == 200
    assert response.json()["status"] == CaseStatus.FOLLOW_UP_NEEDED
    assert response.json()["follow_ups"][0]["close_reason"] == ""


def test_the_clinic_reads_the_follow_up_done_and_a_closing_s_reason(case, manager):
    from navigator.selectors.referrals import _loop_follow_up
    from navigator.services.follow_ups import follow_up_close_confirm, follow_up_close_propose

    factories.result_recorded(case, performed_on=dt.date(2026, 11, 1))
    follow_up_close_propose(
        case=case.pk, reason="deceased", note="Family called", actor=case.navigator.user
    )
    follow_up_close_confirm(case=case.pk, actor=manager)

    loop = _loop_follow_up(ResultFollowUp.objects.get(case=case))
    assert loop.outcome == "Not done: patient deceased"


def test_a_pathway_for_a_diagnosis_is_refused_and_changes_nothing(manager):
    from django.core.exceptions import ValidationError

    from patients.models import ResultCategory, ScreeningModality, ScreeningProgram
    from patients.services.result_pathways import follow_up_pathway_add

    colorectal = ScreeningProgram.objects.get(code="colorectal")
    before = FollowUpPathway.objects.count()

    with pytest.raises(ValidationError) as refused:
        follow_up_pathway_add(
            program=colorectal,
            category=ResultCategory.objects.get(program=colorectal, code="cancer"),
            modality=None, kind="diagnostic", next_step="Surgery",
            next_modality=ScreeningModality.objects.get(code="colonoscopy"),
            target_days=30, limit_days=None, source="none", summary="test", actor=manager,
        )  # fmt: skip

    assert "hands the case to treatment navigation" in str(refused.value.message_dict["category"])
    assert FollowUpPathway.objects.count() == before
