"""Interpreters: requesting one for a call or an appointment (service, case page, API),
and who interpreted each contact (a qualified interpreter, a qualified bilingual
navigator, an ad hoc interpreter — flagged — or nobody)."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from navigator.cases import StaleCaseError
from navigator.models import CaseEvent, CaseEventKind, CaseStatus
from outreach.models import ContactAttempt, InterpretedBy, InterpreterRequest
from outreach.services.attempts import attempt_log
from outreach.services.interpreters import interpreter_request_create, interpreter_request_update
from tests import factories
from tests.support.api import api_as

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def later(days: int = 2) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def local_form(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def navigator(db):
    return factories.NavigatorFactory(
        languages=["en", "es"], user__first_name="Nora", user__last_name="Navarro"
    )


@pytest.fixture
def case(navigator):
    """A Spanish-speaking patient who speaks English 'not well' and needs an interpreter."""
    return factories.CaseFactory(
        navigator=navigator,
        status=CaseStatus.CONTACTING,
        patient__preferred_language="es",
        patient__english_proficiency="not_well",
        patient__interpreter_needed=True,
        patient__phone="+16175550123",
    )


def a_request(case, **overrides) -> InterpreterRequest:
    values = {"modality": "phone", "needed_at": later(), "actor": case.navigator.user}
    return interpreter_request_create(case=case, **{**values, **overrides})


def case_url(name: str, case, *args) -> str:
    return reverse(f"navigator:{name}", args=[case.pk, *args])


# --- Requesting an interpreter (the service) ---------------------------------------------


def test_a_request_defaults_to_the_patients_spoken_language_and_goes_on_the_timeline(case):
    # When the navigator requests a phone interpreter for a call in two days
    request = a_request(case)

    # Then it is requested, in Spanish, and the timeline says so with the actor
    assert (request.language, request.status, request.appointment) == ("es", "requested", None)
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.INTERPRETER_REQUESTED)
    assert event.actor == case.navigator.user
    assert "Spanish interpreter, phone" in event.summary
    assert "for a call" in event.summary
    assert event.data["interpreter_request"] == request.pk


def test_a_request_for_one_of_the_cases_appointments_says_so(case):
    appointment = factories.AppointmentFactory(case=case)

    request = a_request(case, appointment=appointment, modality="in_person", language="pt")

    assert request.appointment == appointment
    assert request.language == "pt"
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.INTERPRETER_REQUESTED)
    assert "Portuguese interpreter, in person" in event.summary
    assert "for the appointment" in event.summary


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"needed_at": timezone.now() - dt.timedelta(minutes=1)}, "needed_at", "time still ahead"),
        ({"needed_at": timezone.now() + dt.timedelta(days=900)}, "needed_at", "two years ahead"),
        ({"modality": "carrier_pigeon"}, "modality", "is not a way to interpret"),
        ({"language": "xx1"}, "language", "is not an ISO 639 language code"),
    ],
)
def test_a_bad_request_is_refused_and_changes_nothing(case, overrides, field, message):
    version = case.version
    with pytest.raises(ValidationError) as refused:
        a_request(case, **overrides)

    assert message in " ".join(refused.value.message_dict[field])
    assert not InterpreterRequest.objects.exists()
    case.refresh_from_db()
    assert case.version == version


def test_an_appointment_of_another_case_is_refused(case):
    other = factories.AppointmentFactory()

    with pytest.raises(ValidationError) as refused:
        a_request(case, appointment=other)

    assert refused.value.message_dict["appointment"] == [
        "This appointment is not one of this case's."
    ]
    assert not InterpreterRequest.objects.exists()


def test_a_closed_case_takes_no_request(case):
    case.status = CaseStatus.CLOSED
    case.save()

    with pytest.raises(ValidationError):
        a_request(case)

    assert not InterpreterRequest.objects.exists()


def test_a_stale_form_is_refused(case):
    stale = case.version
    a_request(case)

    with pytest.raises(StaleCaseError):
        a_request(case, expected_version=stale)

    assert InterpreterRequest.objects.count() == 1


# --- Moving a request on -----------------------------------------------------------------


def test_a_request_is_confirmed_with_who_will_interpret_then_done_once_its_time_came(case):
    request = a_request(case)
    actor = case.navigator.user

    interpreter_request_update(
        interpreter_request=request, status="confirmed", provider="LanguageLine", actor=actor
    )
    request.refresh_from_db()
    assert (request.status, request.provider) == ("confirmed", "LanguageLine")
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.INTERPRETER_UPDATED)
    assert "requested → confirmed" in event.summary
    assert "interpreter: LanguageLine" in event.summary
    assert (event.data["status_from"], event.data["status_to"]) == ("requested", "confirmed")

    # Done before its time is refused; once the time has come, it is accepted
    with pytest.raises(ValidationError) as refused:
        interpreter_request_update(interpreter_request=request, status="done", actor=actor)
    assert "only once that time has come" in refused.value.message_dict["status"][0]
    InterpreterRequest.objects.filter(pk=request.pk).update(
        needed_at=timezone.now() - dt.timedelta(hours=1)
    )
    interpreter_request_update(interpreter_request=request, status="done", actor=actor)
    request.refresh_from_db()
    assert request.status == "done"


@pytest.mark.parametrize(
    ("start", "to", "message"),
    [
        ("requested", "done", "A requested request can only be marked confirmed or cancelled"),
        ("done", "cancelled", "This request is already done; request a new one instead."),
        ("cancelled", "confirmed", "This request is already cancelled"),
        ("confirmed", "requested", "A confirmed request can only be marked done or cancelled"),
    ],
)
def test_a_move_out_of_order_is_refused(case, start, to, message):
    request = a_request(case)
    InterpreterRequest.objects.filter(pk=request.pk).update(status=start)
    events = CaseEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        interpreter_request_update(
            interpreter_request=request, status=to, actor=case.navigator.user
        )

    assert message in refused.value.message_dict["status"][0]
    request.refresh_from_db()
    assert request.status == start
    assert CaseEvent.objects.count() == events


@pytest.mark.parametrize("start", ["requested", "confirmed"])
def test_any_request_not_done_can_be_cancelled(case, start):
    request = a_request(case)
    InterpreterRequest.objects.filter(pk=request.pk).update(status=start)

    interpreter_request_update(
        interpreter_request=request, status="cancelled", actor=case.navigator.user
    )

    request.refresh_from_db()
    assert request.status == "cancelled"


def test_nothing_changed_records_nothing(case):
    request = a_request(case)
    events = CaseEvent.objects.count()

    interpreter_request_update(
        interpreter_request=request, status="requested", provider="", actor=case.navigator.user
    )

    assert CaseEvent.objects.count() == events


def test_an_unknown_status_is_refused(case):
    request = a_request(case)

    with pytest.raises(ValidationError) as refused:
        interpreter_request_update(
            interpreter_request=request, status="maybe", actor=case.navigator.user
        )

    assert "is not an interpreter request status" in refused.value.message_dict["status"][0]


# --- Who interpreted a contact -----------------------------------------------------------


@pytest.mark.parametrize(
    ("interpreted_by", "words"),
    [
        ("qualified_interpreter", "(qualified interpreter)"),
        ("bilingual_navigator", "by a qualified bilingual navigator"),
        ("none", "reached; "),
    ],
)
def test_an_attempt_records_who_interpreted(case, interpreted_by, words):
    attempt = attempt_log(
        case=case,
        channel="phone",
        outcome="reached",
        interpreted_by=interpreted_by,
        actor=case.navigator.user,
    )

    assert attempt.interpreted_by == interpreted_by
    assert attempt.interpreter_used is (interpreted_by != "none")
    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.ATTEMPT_LOGGED)
    assert words in event.summary
    assert event.data["interpreted_by"] == interpreted_by


def test_an_ad_hoc_interpreter_is_flagged_on_the_timeline(case):
    attempt_log(
        case=case,
        channel="phone",
        outcome="reached",
        interpreted_by="ad_hoc",
        actor=case.navigator.user,
    )

    event = CaseEvent.objects.get(case=case, kind=CaseEventKind.ATTEMPT_LOGGED)
    assert "ad hoc interpreter: family member or untrained staff — flagged" in event.summary
    assert event.data["interpreted_by"] == "ad_hoc"
    assert ContactAttempt.objects.get(case=case).ad_hoc_interpreter is True


def test_a_navigator_is_a_bilingual_navigator_only_in_a_language_of_their_profile(case):
    # Given a navigator who speaks English and Spanish, and a Haitian Creole speaker
    case.patient.preferred_language = "ht"
    case.patient.save()

    # When they log that they interpreted themself, it is refused, saying why
    with pytest.raises(ValidationError) as refused:
        attempt_log(
            case=case,
            channel="phone",
            outcome="reached",
            interpreted_by="bilingual_navigator",
            actor=case.navigator.user,
        )

    assert (
        "Your navigator profile does not list Haitian Creole"
        in (refused.value.message_dict["interpreted_by"][0])
    )
    assert not ContactAttempt.objects.exists()


def test_a_manager_without_a_navigator_profile_is_not_a_bilingual_navigator(case):
    with pytest.raises(ValidationError) as refused:
        attempt_log(
            case=case,
            channel="phone",
            outcome="reached",
            interpreted_by="bilingual_navigator",
            actor=factories.ManagerFactory(),
        )

    assert "interpreted_by" in refused.value.message_dict


def test_an_unknown_answer_is_refused(case):
    with pytest.raises(ValidationError) as refused:
        attempt_log(
            case=case,
            channel="phone",
            outcome="reached",
            interpreted_by="cousin",
            actor=case.navigator.user,
        )

    assert "is not a choice of who interpreted" in refused.value.message_dict["interpreted_by"][0]


def test_the_older_interpreter_used_box_records_that_somebody_did_not_who(case):
    attempt = attempt_log(
        case=case,
        channel="phone",
        outcome="reached",
        interpreter_used=True,
        actor=case.navigator.user,
    )

    assert attempt.interpreted_by == InterpretedBy.NOT_RECORDED
    assert attempt.interpreter_used is True


# --- The case page -----------------------------------------------------------------------


def test_the_case_page_shows_the_interpreter_panel_with_each_request_and_its_status(client, case):
    a_request(case, provider="LanguageLine")
    client.force_login(case.navigator.user)

    response = client.get(case_url("case_detail", case))

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert 'data-testid="interpreter-panel"' in page
    assert "Spanish, phone" in page
    assert "status--interpreter-requested" in page
    assert "LanguageLine" in page
    assert "Mark confirmed" in page
    assert "Cancel request" in page
    assert "Mark done" not in page  # not from "requested"
    assert 'data-testid="interpreter-form"' in page


def test_the_navigator_requests_an_interpreter_from_the_case_page_with_htmx(client, case):
    client.force_login(case.navigator.user)
    when = later(3)

    response = client.post(
        case_url("interpreter_create", case),
        {
            "language": "es",
            "modality": "video",
            "needed_at": local_form(when),
            "provider": "",
            "note": "Prep call",
            "version": case.version,
        },
        **HTMX,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Interpreter requested." in page
    request = InterpreterRequest.objects.get(case=case)
    assert (request.modality, request.language, request.note) == ("video", "es", "Prep call")


def test_a_request_in_the_past_comes_back_with_the_reason_and_nothing_saved(client, case):
    client.force_login(case.navigator.user)

    response = client.post(
        case_url("interpreter_create", case),
        {
            "language": "es",
            "modality": "phone",
            "needed_at": local_form(timezone.now() - dt.timedelta(hours=2)),
            "version": case.version,
        },
    )

    assert response.status_code == 400
    assert "time still ahead" in response.content.decode()
    assert not InterpreterRequest.objects.exists()


def test_the_navigator_confirms_a_request_from_its_buttons(client, case):
    request = a_request(case)
    client.force_login(case.navigator.user)
    case.refresh_from_db()

    response = client.post(
        case_url("interpreter_update", case, request.pk),
        {"status": "confirmed", "provider": "Cross Cultural", "version": case.version},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Interpreter request updated." in response.content.decode()
    request.refresh_from_db()
    assert (request.status, request.provider) == ("confirmed", "Cross Cultural")


def test_a_request_on_another_navigators_case_is_not_found(client, case):
    request = a_request(case)
    stranger = factories.NavigatorFactory()
    client.force_login(stranger.user)

    response = client.post(
        case_url("interpreter_update", case, request.pk), {"status": "cancelled"}
    )

    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == "requested"


def test_a_request_id_of_another_case_is_not_found(client, case, navigator):
    other = factories.CaseFactory(navigator=navigator)
    request = a_request(other)
    client.force_login(navigator.user)

    response = client.post(
        case_url("interpreter_update", case, request.pk), {"status": "cancelled"}
    )

    assert response.status_code == 404


def test_the_attempt_form_asks_who_interpreted_for_a_patient_who_needs_an_interpreter(client, case):
    client.force_login(case.navigator.user)

    page = html.unescape(client.get(case_url("case_detail", case)).content.decode())

    assert "Who interpreted?" in page
    assert "Ad hoc interpreter (family member or untrained staff)" in page
    assert "Flores et al., Ann Emerg Med 2012;60:545–553" in page


def test_the_attempt_form_does_not_ask_about_an_english_speaker(client, navigator):
    case = factories.CaseFactory(navigator=navigator)
    client.force_login(navigator.user)

    page = client.get(case_url("case_detail", case)).content.decode()

    assert "Who interpreted?" not in page


def test_reaching_the_patient_without_saying_who_interpreted_is_refused(client, case):
    client.force_login(case.navigator.user)

    response = client.post(
        case_url("attempt_create", case),
        {"channel": "phone", "direction": "outbound", "outcome": "reached",
         "version": case.version},
    )  # fmt: skip

    assert response.status_code == 400
    assert "Say who interpreted when the patient was reached" in html.unescape(
        response.content.decode()
    )
    assert not ContactAttempt.objects.exists()


def test_an_unanswered_call_needs_no_answer_and_records_nobody(client, case):
    client.force_login(case.navigator.user)

    response = client.post(
        case_url("attempt_create", case),
        {"channel": "phone", "direction": "outbound", "outcome": "no_answer",
         "version": case.version},
    )  # fmt: skip

    assert response.status_code == 302
    assert ContactAttempt.objects.get(case=case).interpreted_by == "none"


def test_an_ad_hoc_contact_logged_on_the_page_shows_the_flag_on_the_timeline(client, case):
    client.force_login(case.navigator.user)

    response = client.post(
        case_url("attempt_create", case),
        {"channel": "phone", "direction": "outbound", "outcome": "reached",
         "interpreted_by": "ad_hoc", "version": case.version},
        **HTMX,
    )  # fmt: skip

    page = response.content.decode()
    assert 'data-testid="ad-hoc-flag"' in page
    assert ContactAttempt.objects.get(case=case).interpreted_by == "ad_hoc"


def test_a_bilingual_navigator_outside_their_languages_sees_the_reason_on_the_form(client, case):
    case.patient.preferred_language = "vi"
    case.patient.save()
    client.force_login(case.navigator.user)

    response = client.post(
        case_url("attempt_create", case),
        {"channel": "phone", "direction": "outbound", "outcome": "reached",
         "interpreted_by": "bilingual_navigator", "version": case.version},
    )  # fmt: skip

    assert response.status_code == 400
    assert "does not list Vietnamese" in html.unescape(response.content.decode())
    assert not ContactAttempt.objects.exists()


# --- The API -----------------------------------------------------------------------------


def api_base(case) -> str:
    return f"/api/cases/{case.pk}"


def test_the_case_api_lists_requests_and_attempts_say_who_interpreted(case):
    a_request(case)
    attempt_log(
        case=case,
        channel="phone",
        outcome="reached",
        interpreted_by="qualified_interpreter",
        actor=case.navigator.user,
    )

    body = api_as(case.navigator.user).get(f"{api_base(case)}/").json()

    [request] = body["interpreter_requests"]
    assert (request["language"], request["modality"], request["status"]) == (
        "es",
        "phone",
        "requested",
    )
    [attempt] = body["attempts"]
    assert attempt["interpreted_by"] == "qualified_interpreter"
    assert attempt["interpreter_used"] is True


def test_the_api_creates_and_moves_a_request(case):
    client = api_as(case.navigator.user)
    appointment = factories.AppointmentFactory(case=case)

    response = client.post(
        f"{api_base(case)}/interpreter-requests/",
        {"modality": "in_person", "needed_at": later().isoformat(), "appointment": appointment.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    [request] = response.json()["interpreter_requests"]
    assert (request["language"], request["appointment"]) == ("es", appointment.pk)

    response = client.post(
        f"{api_base(case)}/interpreter-requests/{request['id']}/",
        {"status": "confirmed", "provider": "LanguageLine"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["interpreter_requests"][0]["status"] == "confirmed"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"modality": "phone", "needed_at": "2000-01-01T10:00:00Z"}, "needed_at"),
        ({"modality": "smoke", "needed_at": "2099-01-01T10:00:00Z"}, "modality"),
        ({"modality": "phone"}, "needed_at"),
    ],
)
def test_the_api_refuses_a_bad_request_with_a_400_naming_the_field(case, payload, field):
    response = api_as(case.navigator.user).post(
        f"{api_base(case)}/interpreter-requests/", payload, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert not InterpreterRequest.objects.exists()


def test_the_api_refuses_another_cases_appointment(case):
    other = factories.AppointmentFactory()

    response = api_as(case.navigator.user).post(
        f"{api_base(case)}/interpreter-requests/",
        {"modality": "phone", "needed_at": later().isoformat(), "appointment": other.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "appointment" in response.json()


def test_the_api_refuses_a_move_out_of_order(case):
    request = a_request(case)

    response = api_as(case.navigator.user).post(
        f"{api_base(case)}/interpreter-requests/{request.pk}/", {"status": "done"}, format="json"
    )

    assert response.status_code == 400
    assert "can only be marked confirmed or cancelled" in response.json()["status"][0]


def test_the_api_hides_another_navigators_case_and_clinic_staff_get_nothing(case):
    request = a_request(case)
    stranger = factories.NavigatorFactory()
    staff = factories.ClinicStaffFactory(clinic=case.patient.clinic)

    for user in (stranger.user, staff):
        client = api_as(user)
        created = client.post(
            f"{api_base(case)}/interpreter-requests/",
            {"modality": "phone", "needed_at": later().isoformat()},
            format="json",
        )
        moved = client.post(
            f"{api_base(case)}/interpreter-requests/{request.pk}/",
            {"status": "cancelled"},
            format="json",
        )
        assert created.status_code in {403, 404}
        assert moved.status_code in {403, 404}
    request.refresh_from_db()
    assert request.status == "requested"
    assert InterpreterRequest.objects.count() == 1


def test_the_api_records_who_interpreted_an_attempt(case):
    response = api_as(case.navigator.user).post(
        f"{api_base(case)}/attempts/",
        {"channel": "phone", "outcome": "reached", "interpreted_by": "ad_hoc"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["attempts"][0]["interpreted_by"] == "ad_hoc"


def test_the_api_refuses_a_bilingual_navigator_outside_their_languages(case):
    case.patient.preferred_language = "vi"
    case.patient.save()

    response = api_as(case.navigator.user).post(
        f"{api_base(case)}/attempts/",
        {"channel": "phone", "outcome": "reached", "interpreted_by": "bilingual_navigator"},
        format="json",
    )

    assert response.status_code == 400
    assert "does not list Vietnamese" in response.json()["interpreted_by"][0]
