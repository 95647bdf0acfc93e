"""The group class pages (navigator/views/group_classes.py): the series list, a
manager's new series and sessions, the series page (roster, enrolling, ending an
enrolment), attendance per session and the printable roster; each role's scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from navigator.models import (
    CaseStatus,
    GroupAttendance,
    GroupEnrolment,
    GroupSeries,
    GroupSession,
)
from navigator.services.group_classes import group_attendance_record
from tests import factories
from tests.support.audit import AUDIT_QUERIES, AUDIT_QUERIES_NO_PATIENTS

pytestmark = pytest.mark.django_db


def series_url(series) -> str:
    return reverse("navigator:group_series_detail", args=[series.pk])


def attendance_url(session) -> str:
    return reverse("navigator:group_attendance", args=[session.pk])


@pytest.fixture
def series(manager):
    return factories.GroupSeriesFactory(name="Vivir bien", capacity=2, created_by=manager)


def past_session(series, number=1, hours_ago=2):
    return factories.GroupSessionFactory(
        series=series, number=number, starts_at=timezone.now() - dt.timedelta(hours=hours_ago)
    )


# --- The list and a new series ---------------------------------------------------------


def test_the_list_splits_upcoming_from_past_series_with_their_seats(client, navigator):
    # Given a series ahead with one patient of two seats, and one that is over
    ahead = factories.GroupSeriesFactory(name="Ahead", capacity=2)
    factories.GroupSessionFactory(series=ahead)
    factories.GroupEnrolmentFactory(series=ahead)
    over = factories.GroupSeriesFactory(name="Over")
    past_session(over, hours_ago=24 * 30)
    client.force_login(navigator.user)

    # When a navigator opens the list
    response = client.get(reverse("navigator:group_series_list"))

    # Then each is in its section, with the seats taken
    assert response.status_code == 200
    assert [s.name for s in response.context["upcoming"]] == ["Ahead"]
    assert [s.name for s in response.context["past"]] == ["Over"]
    assert "1 of 2" in response.content.decode()
    assert "New series" not in response.content.decode()


def test_the_list_costs_one_query_however_many_series(client, navigator, django_assert_num_queries):
    # Given five series with sessions and patients
    for _ in range(5):
        series = factories.GroupSeriesFactory()
        factories.GroupSessionFactory(series=series)
        factories.GroupEnrolmentFactory(series=series)
    client.force_login(navigator.user)

    # 1 session, 2 user, 3 the series with their facilitator, programme, sessions'
    # span and count and seats taken; then the audit trail's row (no patient is named).
    with django_assert_num_queries(3 + AUDIT_QUERIES_NO_PATIENTS):
        response = client.get(reverse("navigator:group_series_list"))

    assert len(response.context["upcoming"]) == 5


def test_a_manager_sets_up_a_series_and_is_sent_to_its_page(client, manager, navigator):
    client.force_login(manager)

    response = client.post(
        reverse("navigator:group_series_create"),
        {
            "program": factories.program("diabetes").pk, "name": "Vivir bien",
            "curriculum": "dsmes-basics", "language": "es",
            "facilitator": navigator.user.pk, "capacity": 10, "location": "Sala 2",
        },
    )  # fmt: skip

    series = GroupSeries.objects.get()
    assert response.status_code == 302 and response.url == series_url(series)
    assert (series.name, series.language, series.facilitator) == (
        "Vivir bien",
        "es",
        navigator.user,
    )


def test_a_series_with_no_place_or_too_many_seats_is_refused_on_its_fields(client, manager):
    # Given a manager's form with 21 seats, then one with no place or link
    client.force_login(manager)
    fields = {
        "program": factories.program("diabetes").pk, "name": "Nowhere",
        "curriculum": "dsmes-basics", "language": "en", "facilitator": manager.pk,
        "capacity": 21,
    }  # fmt: skip

    too_many = client.post(reverse("navigator:group_series_create"), fields)
    nowhere = client.post(reverse("navigator:group_series_create"), {**fields, "capacity": 8})

    # Then each is a 400 with the error on its field, and nothing is set up
    assert too_many.status_code == 400 and "capacity" in too_many.context["form"].errors
    assert nowhere.status_code == 400
    assert "Give a place, a video link, or both." in nowhere.context["form"].errors["location"]
    assert not GroupSeries.objects.exists()


def test_a_navigator_may_not_set_up_a_series_or_add_a_session(client, navigator, series):
    client.force_login(navigator.user)

    assert client.get(reverse("navigator:group_series_create")).status_code == 403
    url = reverse("navigator:group_session_create", args=[series.pk])
    assert client.post(url, {"number": 1}).status_code == 403


def test_a_manager_adds_a_session_and_one_in_the_past_is_refused(client, manager, series):
    client.force_login(manager)
    url = reverse("navigator:group_session_create", args=[series.pk])
    ahead = timezone.localtime() + dt.timedelta(days=7)

    added = client.post(
        url, {"number": 1, "starts_at": ahead.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": 90}
    )
    past = client.post(
        url,
        {
            "number": 2,
            "starts_at": (ahead - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": 90,
        },
    )

    assert added.status_code == 302
    assert past.status_code == 400
    assert "A session must be in the future." in past.context["session_form"].errors["starts_at"]
    assert list(GroupSession.objects.values_list("number", flat=True)) == [1]


# --- The series page: roster and enrolment ----------------------------------------------


def test_a_navigator_enrols_a_patient_of_their_caseload(client, navigator, series):
    # Given an open case of the navigator's
    case = factories.ControlCaseFactory(navigator=navigator, patient__family_name="Lopez")
    client.force_login(navigator.user)

    # When they enrol the patient from the series page
    page = client.get(series_url(series))
    offered = list(page.context["enrol_form"].fields["case"].queryset)
    response = client.post(reverse("navigator:group_enrol", args=[series.pk]), {"case": case.pk})

    # Then the case was offered, and the patient is on the roster
    assert offered == [case]
    assert response.status_code == 302
    roster = client.get(series_url(series))
    assert [row["enrolment"].patient for row in roster.context["roster"]] == [case.patient]


def test_a_full_series_says_so_on_the_enrol_form(client, navigator, series):
    # Given a series of two seats, both taken
    factories.GroupEnrolmentFactory.create_batch(2, series=series)
    case = factories.ControlCaseFactory(navigator=navigator)
    client.force_login(navigator.user)

    response = client.post(reverse("navigator:group_enrol", args=[series.pk]), {"case": case.pk})

    assert response.status_code == 400
    assert response.context["enrol_form"].errors["case"] == ["Vivir bien is full (2 patients)."]
    assert "Vivir bien is full (2 patients)." in response.content.decode()


def test_a_navigator_cannot_enrol_another_caseloads_patient(client, navigator, series):
    others = factories.ControlCaseFactory()
    client.force_login(navigator.user)

    response = client.post(reverse("navigator:group_enrol", args=[series.pk]), {"case": others.pk})

    assert response.status_code == 400
    assert "Choose one of the listed patients." in response.context["enrol_form"].errors["case"]
    assert not GroupEnrolment.objects.exists()


def test_each_role_sees_its_own_part_of_the_roster(client, navigator, manager, series):
    # Given the navigator's patient and another caseload's on the roster
    mine = factories.GroupEnrolmentFactory(series=series, case__navigator=navigator)
    theirs = factories.GroupEnrolmentFactory(series=series)

    def roster_as(user):
        client.force_login(user)
        response = client.get(series_url(series))
        return response.status_code, {row["enrolment"] for row in response.context["roster"]}

    # Then the navigator sees their patient, the facilitator and the manager both
    assert roster_as(navigator.user) == (200, {mine})
    assert roster_as(series.facilitator) == (200, {mine, theirs})
    assert roster_as(manager) == (200, {mine, theirs})
    # And the seats count everyone's, whoever looks
    assert "2 of 2" in client.get(series_url(series)).content.decode()


def test_clinic_staff_and_the_compliance_officer_get_nothing(client, clinic_staff, series):
    compliance = factories.UserFactory(role="compliance")
    session = past_session(series)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    urls = [
        reverse("navigator:group_series_list"),
        series_url(series),
        reverse("navigator:group_roster_print", args=[series.pk]),
        attendance_url(session),
    ]
    for user in (clinic_staff, compliance):
        client.force_login(user)
        assert [client.get(url).status_code for url in urls] == [403] * 4
        status_url = reverse("navigator:group_enrolment_status", args=[enrolment.pk])
        assert client.post(status_url, {"status": "withdrawn"}).status_code == 403


def test_a_navigator_withdraws_their_patient_but_not_anothers(client, navigator, series):
    mine = factories.GroupEnrolmentFactory(series=series, case__navigator=navigator)
    theirs = factories.GroupEnrolmentFactory(series=series)
    client.force_login(navigator.user)

    def withdraw(enrolment):
        url = reverse("navigator:group_enrolment_status", args=[enrolment.pk])
        return client.post(url, {"status": "withdrawn", "version": enrolment.case.version})

    assert withdraw(mine).status_code == 302
    assert withdraw(theirs).status_code == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("withdrawn", "enrolled")


def test_a_roster_drawn_before_the_case_changed_is_refused(client, navigator, series):
    # Given a roster row drawn at version 1, then the case moved on
    enrolment = factories.GroupEnrolmentFactory(series=series, case__navigator=navigator)
    version = enrolment.case.version
    type(enrolment.case).objects.filter(pk=enrolment.case_id).update(version=version + 1)
    client.force_login(navigator.user)

    url = reverse("navigator:group_enrolment_status", args=[enrolment.pk])
    response = client.post(url, {"status": "completed", "version": version})

    assert response.status_code == 400
    assert response.context["error"]
    enrolment.refresh_from_db()
    assert enrolment.status == "enrolled"


def test_the_series_page_costs_these_queries(client, navigator, series, django_assert_num_queries):
    # Given three patients of the navigator's on the roster and two sessions, one marked
    sessions = [past_session(series, 1), factories.GroupSessionFactory(series=series, number=2)]
    series.capacity = 8
    series.save()
    enrolments = [
        factories.GroupEnrolmentFactory(series=series, case__navigator=navigator) for _ in range(3)
    ]
    for enrolment in enrolments:
        group_attendance_record(
            session=sessions[0], enrolment=enrolment, status="attended", actor=series.facilitator
        )
    factories.ControlCaseFactory(navigator=navigator)
    client.force_login(navigator.user)

    # 1 session, 2 user, 3 the series (with facilitator and programme), 4 the roster
    # (patients and cases), 5 its attendance rows, 6 their sessions, 7 the sessions,
    # 8 the seats taken, 9 the cases the navigator may enrol (the menu); then the
    # audit trail's row and the patients on the page (tests/support/audit.py).
    with django_assert_num_queries(9 + AUDIT_QUERIES):
        response = client.get(series_url(series))

    assert response.status_code == 200
    assert [row["attended"] for row in response.context["roster"]] == [1, 1, 1]


# --- Attendance -------------------------------------------------------------------------


def test_the_facilitator_marks_a_patient_with_htmx_and_gets_the_row_back(client, series):
    session = past_session(series)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    client.force_login(series.facilitator)

    response = client.post(
        attendance_url(session),
        {"enrolment": enrolment.pk, "status": "attended", "minutes": "60"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert f'id="attendance-{enrolment.pk}"' in response.content.decode()
    assert "Attended (60 min)" in response.content.decode()
    attendance = GroupAttendance.objects.get()
    assert (attendance.status, attendance.minutes) == ("attended", 60)


def test_a_refused_mark_comes_back_on_its_row(client, series):
    # Given a session and an absent patient said to have stayed 30 minutes
    session = past_session(series)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    client.force_login(series.facilitator)

    response = client.post(
        attendance_url(session),
        {"enrolment": enrolment.pk, "status": "absent", "minutes": "30"},
        HTTP_HX_REQUEST="true",
    )

    # Then the row says why (a 200: htmx swaps only those), and nothing is recorded
    assert response.status_code == 200
    assert "Minutes are for a session attended." in response.content.decode()
    assert not GroupAttendance.objects.exists()


def test_without_javascript_a_mark_redirects_back_to_the_session(client, manager, series):
    session = past_session(series)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    client.force_login(manager)

    response = client.post(
        attendance_url(session), {"enrolment": enrolment.pk, "status": "excused"}
    )

    assert response.status_code == 302 and response.url == attendance_url(session)
    assert GroupAttendance.objects.get().status == "excused"


def test_a_navigator_who_does_not_facilitate_finds_no_attendance(client, navigator, series):
    session = past_session(series)
    mine = factories.GroupEnrolmentFactory(series=series, case__navigator=navigator)
    client.force_login(navigator.user)

    assert client.get(attendance_url(session)).status_code == 404
    response = client.post(attendance_url(session), {"enrolment": mine.pk, "status": "attended"})
    assert response.status_code == 404
    assert not GroupAttendance.objects.exists()


def test_a_make_up_from_another_series_of_the_curriculum_is_recorded(client, manager, series):
    # Given a patient of another series of the curriculum who missed its session 1
    other = factories.GroupSeriesFactory(curriculum=series.curriculum, name="Other")
    missed = past_session(other, hours_ago=24 * 7)
    enrolment = factories.GroupEnrolmentFactory(series=other)
    session = past_session(series)
    client.force_login(manager)

    # When they come to this series' session and the manager records the make-up
    page = client.get(attendance_url(session))
    response = client.post(
        attendance_url(session),
        {"enrolment": enrolment.pk, "status": "attended", "makeup_for": missed.pk},
    )

    # Then it is offered and recorded as a make-up for the missed session
    assert enrolment in page.context["makeup_form"].fields["enrolment"].queryset
    assert response.status_code == 302
    attendance = GroupAttendance.objects.get()
    assert (attendance.session, attendance.makeup_for) == (session, missed)


def test_a_session_ahead_shows_the_roster_but_takes_no_marks(client, manager, series):
    session = factories.GroupSessionFactory(series=series)
    enrolment = factories.GroupEnrolmentFactory(series=series)
    client.force_login(manager)

    page = client.get(attendance_url(session))
    response = client.post(attendance_url(session), {"enrolment": enrolment.pk, "status": "absent"})

    assert page.status_code == 200 and 'name="status"' not in page.content.decode()
    assert response.status_code == 400
    assert not GroupAttendance.objects.exists()


# --- The printable roster ---------------------------------------------------------------


def test_the_printable_roster_says_it_holds_phi_and_lists_the_marks(client, manager, series):
    session = past_session(series)
    factories.GroupSessionFactory(series=series, number=2)
    enrolment = factories.GroupEnrolmentFactory(series=series, case__patient__family_name="Quispe")
    factories.GroupEnrolmentFactory(
        series=series, status="withdrawn", case__patient__family_name="Qzwithdrawnq"
    )
    group_attendance_record(session=session, enrolment=enrolment, status="absent", actor=manager)
    client.force_login(manager)

    response = client.get(reverse("navigator:group_roster_print", args=[series.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Contains protected health information." in page
    assert "Quispe" in page and "Qzwithdrawnq" not in page
    assert [row["marks"][0].status for row in response.context["rows"]] == ["absent"]
    assert response.context["rows"][0]["marks"][1] is None


def test_a_closed_case_is_not_offered_for_enrolment(client, navigator, series):
    closed = factories.ControlCaseFactory(navigator=navigator, status=CaseStatus.CLOSED)
    client.force_login(navigator.user)

    page = client.get(series_url(series))

    assert closed not in page.context["enrol_form"].fields["case"].queryset


def test_the_flash_messages_name_no_patient(client, navigator, series):
    # Given a patient whose name is found nowhere else (a flash message may travel in a
    # cookie, which must carry no PHI)
    case = factories.ControlCaseFactory(navigator=navigator, patient__family_name="Qzflashq")
    client.force_login(navigator.user)

    enrolled = client.post(
        reverse("navigator:group_enrol", args=[series.pk]), {"case": case.pk}, follow=True
    )
    enrolment = GroupEnrolment.objects.get()
    withdrawn = client.post(
        reverse("navigator:group_enrolment_status", args=[enrolment.pk]),
        {"status": "withdrawn", "version": enrolment.case.version},
        follow=True,
    )

    said = [str(m) for r in (enrolled, withdrawn) for m in r.context["messages"]]
    assert said == [
        f"Case #{case.pk}'s patient is enrolled in Vivir bien.",
        f"Case #{case.pk}'s enrolment: withdrawn.",
    ]
    assert "Qzflashq" not in enrolled.cookies.output()


def test_a_manager_enrols_by_case_number_rather_than_from_a_menu_of_every_case(
    client, manager, series
):
    # Given an open case and a closed one of the programme
    case = factories.ControlCaseFactory()
    closed = factories.ControlCaseFactory(status=CaseStatus.CLOSED)
    client.force_login(manager)
    url = reverse("navigator:group_enrol", args=[series.pk])

    # When the manager opens the series page and enrols by number, the closed case too
    page = client.get(series_url(series)).content.decode()
    refused = client.post(url, {"case": closed.pk})
    enrolled = client.post(url, {"case": case.pk})

    # Then the page asks for a number (no menu of every case), the closed case is refused
    # on the field, and the open one is enrolled
    assert 'type="number" name="case"' in page
    assert refused.status_code == 400
    assert refused.context["enrol_form"].errors["case"] == [
        "No open case of this programme has that number, or its patient is on the roster."
    ]
    assert enrolled.status_code == 302
    assert GroupEnrolment.objects.get().case == case


def test_the_series_form_offers_control_programmes_only(client, manager):
    client.force_login(manager)

    response = client.get(reverse("navigator:group_series_create"))

    # Then diabetes is offered, and no screening programme
    offered = list(response.context["form"].fields["program"].queryset)
    assert offered == [factories.program("diabetes")]
