"""What the database itself refuses and keeps, whatever interface a change comes
through (issue 14, items 1 and 2; 45 CFR 164.312(b) audit controls, (c)(1) integrity).
These run on PostgreSQL, where the triggers live."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from navigator.audit.models import AccessEvent, RowChange
from navigator.models import CaseEvent, NavigationCase
from outreach.models import ContactAttempt
from patients.models import Patient
from tests import factories

pytestmark = pytest.mark.django_db


def _refused(action) -> bool:
    try:
        with transaction.atomic():
            action()
    except DatabaseError:
        return True
    return False


def _changes(model, pk) -> list[RowChange]:
    return list(RowChange.objects.filter(table_name=model._meta.db_table, row_id=pk).order_by("id"))


def test_a_bulk_reassignment_is_kept_with_the_navigator_before_and_after(require_postgres):
    # Given a case of one navigator, and another navigator
    case = factories.CaseFactory(status="assigned")
    before, other = case.navigator_id, factories.NavigatorFactory()

    # When it is moved to the other behind every service's back, in bulk
    NavigationCase.objects.filter(pk=case.pk).update(navigator=other, status="contacting")

    # Then the change names its columns, the ids before and after, and its patient
    change = _changes(NavigationCase, case.pk)[-1]
    assert change.operation == "UPDATE"
    assert change.fields == ["navigator_id", "status"]
    assert change.ids_before == {"navigator_id": before}
    assert change.ids_after == {"navigator_id": other.pk}
    assert change.patient_id == case.patient_id


def test_a_change_to_a_name_names_the_field_and_keeps_no_value(require_postgres):
    # Given a patient
    patient = factories.PatientFactory(family_name="Before")

    # When only the family name changes
    Patient.objects.filter(pk=patient.pk).update(family_name="After")

    # Then the change says which field changed, for which patient, and nothing else
    inserted, updated = _changes(Patient, patient.pk)
    assert inserted.operation == "INSERT"
    assert updated.fields == ["family_name"]
    assert updated.patient_id == patient.pk
    assert (updated.ids_before, updated.ids_after) == ({}, {})
    kept = str([(c.fields, c.ids_before, c.ids_after, c.path) for c in (inserted, updated)])
    assert "Before" not in kept and "After" not in kept


def test_a_contact_attempt_change_is_filed_under_its_cases_patient(require_postgres):
    # Given an attempt logged as a voicemail
    attempt = factories.ContactAttemptFactory(outcome="left_voicemail")

    # When someone turns it into "reached" in SQL
    ContactAttempt.objects.filter(pk=attempt.pk).update(outcome="reached")

    # Then the change is there, under the patient of the attempt's case, without values
    change = _changes(ContactAttempt, attempt.pk)[-1]
    assert change.fields == ["outcome"]
    assert change.patient_id == attempt.case.patient_id
    assert "reached" not in str(change.ids_after)


def test_an_update_that_changes_nothing_records_nothing(require_postgres):
    case = factories.CaseFactory(status="assigned")
    count = len(_changes(NavigationCase, case.pk))

    NavigationCase.objects.filter(pk=case.pk).update(status="assigned")

    assert len(_changes(NavigationCase, case.pk)) == count


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


def test_audit_rows_and_change_rows_cannot_be_altered_or_deleted_even_in_sql(
    require_postgres, client, manager
):
    # Given an audit row of a manager's read, and a change row
    client.force_login(manager)
    client.get(reverse("navigator:worklist"))
    event = AccessEvent.objects.get(route="navigator:worklist")
    factories.PatientFactory()
    change = RowChange.objects.first()

    def raw(sql):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql)

        return run

    # Then neither the ORM nor raw SQL can change or remove them
    assert _refused(lambda: AccessEvent.objects.filter(pk=event.pk).update(username="x"))
    assert _refused(lambda: AccessEvent.objects.filter(pk=event.pk).delete())
    assert _refused(raw("DELETE FROM audit_accessevent"))
    assert _refused(raw("UPDATE audit_rowchange SET fields = '[]'"))
    assert _refused(raw("DELETE FROM audit_rowchange"))
    assert AccessEvent.objects.filter(pk=event.pk, username=manager.username).exists()
    assert RowChange.objects.filter(pk=change.pk).exists()


def test_a_change_made_in_a_request_names_its_user_and_path(require_postgres, client, navigator):
    # Given a navigator's case
    case = factories.CaseFactory(navigator=navigator, status="assigned")
    client.force_login(navigator.user)

    # When the navigator adds a note through the page (the case's version moves)
    client.post(reverse("navigator:note_create", args=[case.pk]), {"text": "Prefers mornings"})

    # Then the case's change carries the user and the path, without a query string
    change = _changes(NavigationCase, case.pk)[-1]
    assert change.operation == "UPDATE"
    assert change.user_id == navigator.user.pk
    assert change.path == reverse("navigator:note_create", args=[case.pk])


def test_no_session_setting_switches_the_audit_trails_protection_off(
    require_postgres, client, manager
):
    # Given an audit row
    client.force_login(manager)
    client.get(reverse("navigator:worklist"))

    # When a plain SQL session sets pgtrigger's "ignore" setting for every trigger it
    # could name, then deletes (review R7: pgtrigger's own Protect obeyed it)
    def delete_with_switch():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
            cursor.execute("DELETE FROM audit_accessevent")

    # Then the database still refuses
    assert _refused(delete_with_switch)
    assert AccessEvent.objects.exists()


def test_rows_older_than_six_years_may_go_and_younger_ones_may_not(require_postgres):
    # Given a row written seven years ago and one written five years ago
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from navigator.audit.models import AccessAction
    from navigator.audit.recording import access_event_record

    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=7 * 365), tick=False):
        old = access_event_record(action=AccessAction.VIEW, username="old", patient_ids=[1])
    with time_machine.travel(now - dt.timedelta(days=5 * 365), tick=False):
        young = access_event_record(action=AccessAction.VIEW, username="young", patient_ids=[1])

    # Then the database lets the old one and its patient row go, and not the young one
    from navigator.audit.models import AccessedPatient

    assert not _refused(lambda: AccessedPatient.objects.filter(event=old).delete())
    assert not _refused(lambda: AccessEvent.objects.filter(pk=old.pk).delete())
    assert _refused(lambda: AccessedPatient.objects.filter(event=young).delete())
    assert _refused(lambda: AccessEvent.objects.filter(pk=young.pk).delete())
