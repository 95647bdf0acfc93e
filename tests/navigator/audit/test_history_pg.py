"""What the database itself refuses and keeps, whatever interface a change comes
through (issue 14, items 1 and 2; 45 CFR 164.312(b) audit controls, (c)(1) integrity).
These run on PostgreSQL, where the triggers live."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from navigator.audit.models import AccessEvent
from navigator.models import CaseEvent, NavigationCase, NavigationCaseChange
from outreach.models import ContactAttempt
from patients.models import Patient, PatientChange
from tests import factories

pytestmark = pytest.mark.django_db


def _refused(action) -> bool:
    try:
        with transaction.atomic():
            action()
    except DatabaseError:
        return True
    return False


def test_a_bulk_update_of_a_case_is_kept_with_its_old_and_new_status(require_postgres):
    # Given a case, as inserted
    case = factories.CaseFactory(status="assigned")

    # When its status is changed behind every service's back, in bulk
    NavigationCase.objects.filter(pk=case.pk).update(status="declined")

    # Then the history holds both snapshots, oldest first
    statuses = list(
        NavigationCaseChange.objects.filter(pgh_obj_id=case.pk)
        .order_by("pgh_id")
        .values_list("pgh_label", "status")
    )
    assert statuses[-2:] == [("insert", "assigned"), ("update", "declined")]


def test_a_change_to_a_name_is_recorded_without_the_name(require_postgres):
    # Given a patient
    patient = factories.PatientFactory(given_name="Ana")

    # When only the name changes
    Patient.objects.filter(pk=patient.pk).update(given_name="Anabel")

    # Then the change is recorded, and no column of the history holds a name
    changes = PatientChange.objects.filter(pgh_obj_id=patient.pk).order_by("pgh_id")
    assert [c.pgh_label for c in changes] == ["insert", "update"]
    columns = {f.name for f in PatientChange._meta.concrete_fields}
    phi = {"given_name", "family_name", "birth_date", "mrn", "email", "address_line1"}
    assert not columns & phi


def test_the_database_refuses_to_delete_a_case_its_timeline_or_an_attempt(require_postgres):
    # Given a case with a timeline row and a contact attempt
    attempt = factories.ContactAttemptFactory()
    case = attempt.case
    event = CaseEvent.objects.create(case=case, kind="note", summary="Called")

    # Then no delete gets through, nor a rewrite of the timeline
    assert _refused(lambda: ContactAttempt.objects.filter(pk=attempt.pk).delete())
    assert _refused(lambda: CaseEvent.objects.filter(pk=event.pk).delete())
    assert _refused(lambda: CaseEvent.objects.filter(pk=event.pk).update(summary="Reached"))
    assert _refused(lambda: NavigationCase.objects.filter(pk=case.pk).delete())
    assert NavigationCase.objects.filter(pk=case.pk).exists()


def test_an_audit_row_cannot_be_altered_or_deleted_even_in_sql(require_postgres, client, manager):
    # Given an audit row of a manager's read
    client.force_login(manager)
    client.get(reverse("navigator:worklist"))
    event = AccessEvent.objects.get()

    # Then neither the ORM nor raw SQL can change or remove it
    assert _refused(lambda: AccessEvent.objects.filter(pk=event.pk).update(username="x"))
    assert _refused(lambda: AccessEvent.objects.filter(pk=event.pk).delete())

    def raw_delete():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_accessevent")

    assert _refused(raw_delete)
    assert AccessEvent.objects.filter(pk=event.pk, username=manager.username).exists()


def test_a_change_made_in_a_request_names_its_user_and_path(require_postgres, client, navigator):
    # Given a navigator's case
    case = factories.CaseFactory(navigator=navigator, status="assigned")
    client.force_login(navigator.user)

    # When the navigator adds a note through the page
    client.post(reverse("navigator:note_create", args=[case.pk]), {"text": "Prefers mornings"})

    # Then the case's change (its version moves with every recorded action) carries
    # the user and the path, without a query string
    contexts = NavigationCaseChange.objects.filter(pgh_obj_id=case.pk).exclude(pgh_context=None)
    assert contexts.exists()
    for change in contexts:
        assert change.pgh_context.metadata["user"] == navigator.user.pk
        assert change.pgh_context.metadata["url"] == reverse(
            "navigator:note_create", args=[case.pk]
        )
