"""Call guides: the seeded guides, which guide a case is at (step and language), the
service that versions a manager's edits and refuses bad input, and the pages: the
case page's panel and the managers' list and edit pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from navigator.services.screenings import case_record_screening
from outreach.models import CallGuide, CallGuideVersion, CallStep
from outreach.selectors import call_guide_for, call_step_for
from outreach.services.call_guides import (
    CallGuideText,
    call_guide_create,
    call_guide_snapshot,
    call_guide_update,
)
from patients.models import ScreeningModality, ScreeningProgram
from tests import factories

NOW = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def guide(program: str = "colorectal", step: str = "first_call", language: str = "en"):
    return CallGuide.objects.get(program__code=program, step=step, language=language)


def text_of(existing: CallGuide, **changes) -> CallGuideText:
    fields = call_guide_snapshot(existing)
    fields.update(changes)
    return CallGuideText(**fields)


def fit_result(case, result: str):
    return case_record_screening(
        case=case,
        modality=ScreeningModality.objects.get(program__code="colorectal", code="fit"),
        performed_on=NOW.date() - dt.timedelta(days=2),
        result=result,
        actor=case.navigator.user,
    )


# --- The seeded guides --------------------------------------------------------------------


def test_a_fresh_database_has_an_english_and_a_spanish_guide_for_every_program_and_step():
    for program in ScreeningProgram.objects.filter(
        code__in=["colorectal", "breast", "cervical", "lung"]
    ):
        for step in CallStep.values:
            for language in ("en", "es"):
                seeded = guide(program.code, step, language)
                assert seeded.active and seeded.version == 1
                assert seeded.title and seeded.talking_points and seeded.barriers_and_answers
                assert seeded.source, f"{seeded} cites no source"
                assert seeded.versions.get().number == 1


def test_the_seeded_colorectal_guides_say_what_the_guidelines_say():
    prep = guide("colorectal", "prep_call").prep_instructions
    assert "Split dose" in prep and "clear liquids" in prep and "take you home" in prep
    assert "Multi-Society Task Force" in guide("colorectal", "prep_call").source
    first = guide("colorectal", "first_call").talking_points
    assert "one small sample" in first and "do not need to change what you eat" in first
    abnormal = guide("colorectal", "abnormal_result_call").talking_points
    assert "does not mean you have cancer" in abnormal
    assert "only way to find out" in abnormal and "soon" in abnormal
    assert "no son cáncer" in guide("colorectal", "abnormal_result_call", "es").talking_points
    assert "deodorant" in guide("breast", "prep_call").prep_instructions
    assert "2 days before" in guide("cervical", "prep_call").prep_instructions
    assert "Pap" in guide("cervical", "first_call").talking_points


# --- Which guide a case is at ----------------------------------------------------------------


def test_a_case_nobody_has_reached_yet_is_at_its_first_call():
    case = factories.CaseFactory()
    factories.ContactAttemptFactory(case=case, outcome="no_answer")

    pick = call_guide_for(case)

    assert pick.step == CallStep.FIRST_CALL and pick.guide == guide()
    assert pick.why == "nobody has reached the patient yet" and not pick.note


def test_a_case_whose_patient_was_reached_is_at_a_reminder_call():
    case = factories.CaseFactory()
    factories.ContactAttemptFactory(case=case, outcome="reached")

    assert call_guide_for(case).guide == guide(step="reminder_call")


def test_a_colonoscopy_within_seven_days_calls_for_the_prep_call_even_before_anyone_was_reached():
    case = factories.CaseFactory()
    factories.AppointmentFactory(
        case=case,
        scheduled_at=NOW + dt.timedelta(days=6, hours=23),
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
    )

    step, why = call_step_for(case)

    assert step == CallStep.PREP_CALL and "Colonoscopy booked for" in why


def test_an_appointment_more_than_seven_days_ahead_or_cancelled_is_not_yet_a_prep_call():
    case = factories.CaseFactory()
    factories.AppointmentFactory(case=case, scheduled_at=NOW + dt.timedelta(days=8))
    factories.AppointmentFactory(
        case=case, scheduled_at=NOW + dt.timedelta(days=2), status="cancelled"
    )

    assert call_step_for(case)[0] == CallStep.FIRST_CALL


def test_an_abnormal_fit_calls_for_the_abnormal_result_call_and_a_booked_colonoscopy_for_prep():
    # Given a case whose FIT came back abnormal, the patient reached
    case = factories.CaseFactory()
    factories.ContactAttemptFactory(case=case, outcome="reached")
    fit_result(case, "abnormal")

    # Then the call is about the result
    assert call_guide_for(case).guide == guide(step="abnormal_result_call")

    # And once the colonoscopy is booked for this week, about its prep
    factories.AppointmentFactory(
        case=case,
        purpose="diagnostic",
        scheduled_at=NOW + dt.timedelta(days=3),
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
    )
    case.refresh_from_db()
    assert call_step_for(case)[0] == CallStep.PREP_CALL


def test_a_normal_result_is_no_abnormal_result_call():
    case = factories.CaseFactory()
    factories.ContactAttemptFactory(case=case, outcome="reached")
    fit_result(case, "normal")

    assert call_step_for(case)[0] == CallStep.REMINDER_CALL


def test_the_guide_is_in_the_patients_language_or_english_saying_so():
    spanish = factories.CaseFactory(patient__preferred_language="es")
    assert call_guide_for(spanish).guide == guide(language="es")

    vietnamese = factories.CaseFactory(patient__preferred_language="vi")
    pick = call_guide_for(vietnamese)
    assert pick.guide == guide(language="en")
    assert pick.note.startswith("No first call guide in Vietnamese yet: showing English.")


def test_a_navigator_may_look_at_another_step_and_language():
    case = factories.CaseFactory()

    pick = call_guide_for(case, "prep_call", language="es")

    assert pick.guide == guide(step="prep_call", language="es") and pick.chosen
    assert ("es", "Spanish") in pick.languages and pick.languages[0] == ("en", "English")


def test_a_guide_switched_off_is_not_shown_and_a_program_without_guides_says_so():
    case = factories.CaseFactory(patient__preferred_language="es")
    CallGuide.objects.filter(pk=guide(language="es").pk).update(active=False)
    assert call_guide_for(case).guide == guide(language="en")

    CallGuide.objects.filter(program=case.program, step="first_call").delete()
    pick = call_guide_for(case)
    assert pick.guide is None
    assert pick.note == "No first call guide for colorectal cancer screening yet."


# --- Editing: the service ----------------------------------------------------------------------


def test_a_managers_edit_is_a_new_version_with_who_when_why_before_and_after():
    manager = factories.ManagerFactory()
    existing = guide()
    old_points = existing.talking_points

    version = call_guide_update(
        guide=existing,
        text=text_of(existing, talking_points="- Say hello.\r\n- Offer the kit.  "),
        summary="Shorter for new navigators",
        actor=manager,
        expected_version=1,
    )

    existing.refresh_from_db()
    assert existing.version == 2 and existing.updated_by == manager
    assert existing.talking_points == "- Say hello.\n- Offer the kit."
    assert version.number == 2 and version.changed_by == manager and version.changed_at == NOW
    assert version.summary == "Shorter for new navigators"
    assert version.before["talking_points"] == old_points
    assert version.after["talking_points"] == "- Say hello.\n- Offer the kit."
    assert [name for name, _, _ in version.changes] == ["Talking points"]


def test_saving_the_same_text_records_nothing():
    manager = factories.ManagerFactory()
    existing = guide()

    assert (
        call_guide_update(
            guide=existing,
            text=text_of(existing),
            summary="No change",
            actor=manager,
            expected_version=1,
        )  # fmt: skip
        is None
    )
    assert CallGuideVersion.objects.filter(guide=existing).count() == 1


@pytest.mark.parametrize(
    ("changes", "summary", "field", "message"),
    [
        ({"title": "  "}, "x", "title", "Give the guide a title"),
        ({"title": "x" * 121}, "x", "title", "At most 120 characters."),
        ({"talking_points": ""}, "x", "talking_points", "Write what the navigator says"),
        ({"barriers_and_answers": " "}, "x", "barriers_and_answers", "common barriers"),
        ({"source": ""}, "x", "source", "Cite the guidelines"),
        ({"talking_points": "x" * 4001}, "x", "talking_points", "At most 4000 characters"),
        ({"prep_instructions": "x" * 4001}, "x", "prep_instructions", "At most 4000"),
        ({}, "   ", "summary", "Say what changed and why."),
        ({"title": "New"}, "x" * 301, "summary", "At most 300 characters."),
    ],
)
def test_a_bad_edit_is_refused_with_a_clear_error_and_changes_nothing(
    changes, summary, field, message
):
    existing = guide()
    before = call_guide_snapshot(existing)

    with pytest.raises(ValidationError) as refused:
        call_guide_update(
            guide=existing, text=text_of(existing, **changes), summary=summary,
            actor=factories.ManagerFactory(), expected_version=1,
        )  # fmt: skip

    assert message in " ".join(refused.value.message_dict[field])
    existing.refresh_from_db()
    assert call_guide_snapshot(existing) == before and existing.version == 1


def test_an_edit_from_a_form_drawn_before_another_managers_save_is_refused():
    existing = guide()
    first = factories.ManagerFactory(first_name="Ana", last_name="Ruiz")
    call_guide_update(
        guide=existing, text=text_of(existing, title="Ana's title"), summary="Clearer",
        actor=first, expected_version=1,
    )  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        call_guide_update(
            guide=existing, text=text_of(existing, title="Mine"), summary="Mine",
            actor=factories.ManagerFactory(), expected_version=1,
        )  # fmt: skip

    assert "Ana Ruiz changed this guide meanwhile" in refused.value.message_dict["version"][0]
    assert guide().title == "Ana's title"


@pytest.mark.parametrize("role", ["navigator", "clinic_staff"])
def test_only_a_manager_may_edit_or_add_a_guide(role):
    user = (
        factories.NavigatorFactory().user if role == "navigator" else factories.ClinicStaffFactory()
    )
    existing = guide()

    with pytest.raises(PermissionDenied):
        call_guide_update(
            guide=existing, text=text_of(existing, title="Hacked"), summary="x", actor=user,
            expected_version=1,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        call_guide_create(
            program=existing.program, step="first_call", language="pt",
            text=text_of(existing), summary="x", actor=user,
        )  # fmt: skip
    assert guide().title == existing.title
    assert not CallGuide.objects.filter(program=existing.program, language="pt")


def test_a_manager_adds_a_guide_in_a_new_language_as_version_one():
    manager = factories.ManagerFactory()
    base = guide()

    added = call_guide_create(
        program=base.program, step="first_call", language=" PT ",
        text=text_of(base, title="Primeira ligação"), summary="Portuguese speakers",
        actor=manager,
    )  # fmt: skip

    assert added.language == "pt" and added.version == 1 and added.updated_by == manager
    assert added.versions.get().after["title"] == "Primeira ligação"
    portuguese = factories.CaseFactory(patient__preferred_language="pt")
    assert call_guide_for(portuguese).guide == added


@pytest.mark.parametrize(
    ("step", "language", "field", "message"),
    [
        ("second_call", "pt", "step", "“second_call” is not a call step."),
        ("first_call", "klingon", "language", "is not an ISO 639 language code"),
        ("first_call", "es", "language", "already has a first call guide in Spanish"),
    ],
)
def test_adding_a_guide_refuses_a_bad_step_or_language_or_a_second_guide(
    step, language, field, message
):
    base = guide()
    count = CallGuide.objects.count()

    with pytest.raises(ValidationError) as refused:
        call_guide_create(
            program=base.program, step=step, language=language, text=text_of(base),
            summary="x", actor=factories.ManagerFactory(),
        )  # fmt: skip

    assert message in refused.value.message_dict[field][0]
    assert CallGuide.objects.count() == count


# --- The case page's panel ---------------------------------------------------------------------


def case_page(client, case, **params):
    client.force_login(case.navigator.user)
    response = client.get(reverse("navigator:case_detail", args=[case.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_case_page_shows_the_guide_for_this_moment_in_the_patients_language(client):
    case = factories.CaseFactory(patient__preferred_language="es")

    html = case_page(client, case)

    assert 'data-testid="call-guide"' in html and "<details" in html
    assert guide(language="es").title in html
    assert "For this moment: nobody has reached the patient yet." in html
    # Links to the other steps and languages carry codes only
    assert "?guide_step=prep_call&amp;guide_lang=es#call-guide" in html
    assert "?guide_step=first_call&amp;guide_lang=en#call-guide" in html


def test_the_case_page_shows_a_step_and_language_picked_from_its_links_open(client):
    case = factories.CaseFactory()

    html = case_page(client, case, guide_step="prep_call", guide_lang="es")

    assert guide(step="prep_call", language="es").title in html
    assert 'data-testid="call-guide" open' in html and "Picked by you." in html
    assert "Dosis dividida" in html


def test_the_case_page_says_when_a_guide_link_is_not_one_and_shows_this_moments_guide(client):
    case = factories.CaseFactory()

    html = case_page(client, case, guide_step="<script>", guide_lang="zz9")

    assert 'data-testid="call-guide-errors"' in html
    assert "That is not a call step we have guides for." in html
    assert "is not an ISO 639 language code" in html and "<script>" not in html
    assert guide().title in html


def test_the_case_page_falls_back_to_english_saying_so(client):
    case = factories.CaseFactory(patient__preferred_language="vi")

    html = case_page(client, case)

    assert guide().title in html
    assert "No first call guide in Vietnamese yet: showing English." in html


def test_a_closed_case_shows_no_call_guide(client):
    case = factories.CaseFactory(status="closed_declined")

    assert 'data-testid="call-guide"' not in case_page(client, case)


# --- The managers' pages ------------------------------------------------------------------------


def test_a_manager_sees_a_programs_guides_by_step_and_language(client, manager):
    client.force_login(manager)

    response = client.get(reverse("outreach:call_guides", args=["colorectal"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="call-guide-row"') == 8
    assert guide(step="prep_call", language="es").title in html
    assert 'Spanish <span class="muted">(es)</span>' in html


@pytest.mark.parametrize("role", ["navigator", "clinic_staff"])
def test_navigators_and_clinic_staff_cannot_open_or_post_the_guide_pages(client, role):
    user = (
        factories.NavigatorFactory().user if role == "navigator" else factories.ClinicStaffFactory()
    )
    client.force_login(user)
    existing = guide()
    edit = reverse("outreach:call_guide_edit", args=["colorectal", existing.pk])

    assert client.get(reverse("outreach:call_guides", args=["colorectal"])).status_code == 403
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"title": "Hacked", "summary": "x"}).status_code == 403
    assert guide().title == existing.title


def form_data(existing: CallGuide, **changes) -> dict:
    data = {**call_guide_snapshot(existing), "summary": "Clearer", "version": existing.version}
    data.update(changes)
    if not data["active"]:
        data.pop("active")
    return data


def test_a_manager_edits_a_guide_and_sees_the_version_in_its_history(client, manager):
    client.force_login(manager)
    existing = guide()
    url = reverse("outreach:call_guide_edit", args=["colorectal", existing.pk])

    response = client.post(url, form_data(existing, title="Colon screening: first call"))

    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Saved as version 2." in page
    assert page.count('data-testid="call-guide-version"') == 2
    assert "Colon screening: first call" in page and "Clearer" in page


def test_a_bad_edit_comes_back_with_its_errors_and_saves_nothing(client, manager):
    client.force_login(manager)
    existing = guide()
    url = reverse("outreach:call_guide_edit", args=["colorectal", existing.pk])

    response = client.post(url, form_data(existing, talking_points="", summary=""))

    assert response.status_code == 400
    html = response.content.decode()
    assert "Write what the navigator says: the talking points." in html
    assert "Say what changed and why." in html
    assert guide().version == 1


def test_a_stale_edit_form_says_so_at_its_top(client, manager):
    client.force_login(manager)
    existing = guide()
    url = reverse("outreach:call_guide_edit", args=["colorectal", existing.pk])
    client.post(url, form_data(existing, title="First"))

    response = client.post(url, form_data(existing, title="Second"))

    assert response.status_code == 400
    assert "changed this guide meanwhile" in response.content.decode()
    assert guide().title == "First"


@pytest.mark.parametrize("version", ["abc", "0"])
def test_an_edit_form_with_a_broken_version_is_refused(client, manager, version):
    client.force_login(manager)
    existing = guide()
    url = reverse("outreach:call_guide_edit", args=["colorectal", existing.pk])

    response = client.post(url, form_data(existing, title="New", version=version))

    assert response.status_code == 400
    assert "This form lost track of the guide" in response.content.decode()


def test_a_manager_adds_a_guide_from_the_list_page_and_a_duplicate_is_refused(client, manager):
    client.force_login(manager)
    url = reverse("outreach:call_guides", args=["lung"])
    base = guide("lung")
    data = {**form_data(base, title="Primeira ligação"), "step": "first_call", "language": "pt"}

    response = client.post(url, data)

    added = CallGuide.objects.get(program__code="lung", language="pt")
    assert response.status_code == 302
    assert response["Location"] == reverse("outreach:call_guide_edit", args=["lung", added.pk])

    again = client.post(url, data)
    assert again.status_code == 400
    assert "already has a first call guide in Portuguese" in again.content.decode()


def test_unknown_programs_and_guides_are_404(client, manager):
    client.force_login(manager)
    other = guide("breast")

    assert client.get(reverse("outreach:call_guides", args=["nope"])).status_code == 404
    wrong_program = reverse("outreach:call_guide_edit", args=["colorectal", other.pk])
    assert client.get(wrong_program).status_code == 404
