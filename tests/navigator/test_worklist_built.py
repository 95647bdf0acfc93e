"""Model instances built from raw rows without Model.__init__ (navigator/worklist/built.py):
the same instances `from_db` builds (fields, state, select_related objects), the same
patients noted for the audit trail, the same API bytes and access rows; and `from_db`
itself wherever construction does more than store values.

The clock stands still at 2 pm in Boston on Tuesday 24 November 2026.
"""

from __future__ import annotations

import pytest
from django.db.models import signals

from navigator.audit.models import AccessEvent
from navigator.audit.recording import collecting
from navigator.models import NavigationCase, NavigatorProfile
from navigator.worklist import built, replayed
from navigator.worklist.compiled import _CACHE as COMPILED
from navigator.worklist.replayed import query_reader
from patients.models import Patient, PatientPhone
from tests import factories
from tests.navigator.test_worklist import NOW, caseload
from tests.support.api import token_authorization

pytestmark = [pytest.mark.django_db, pytest.mark.frozen_clock(NOW)]


def _state(instance, depth=0) -> dict:
    """Everything an instance holds: its fields and annotations, its state, and the
    related objects select_related put in its cache (each the same way, two deep)."""
    values = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    state = instance._state  # noqa: SLF001
    related = {}
    if depth < 3:
        for name, obj in state.fields_cache.items():
            related[name] = None if obj is None else (type(obj), _state(obj, depth + 1))
    return {
        "type": type(instance),
        "keys": list(instance.__dict__),
        "values": values,
        "adding": state.adding,
        "db": state.db,
        "related": related,
    }


def _both(queryset):
    """(built here, built by Django's ModelIterable), each with the patients noted."""
    with collecting() as fast_noted:
        _compiler, _sql, params, read = query_reader(queryset)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(_sql, params)
            fast = read(cursor.fetchall(), queryset.db)
    with collecting() as orm_noted:
        orm = list(queryset)
    return (fast, fast_noted.patient_ids), (orm, orm_noted.patient_ids)


QUERYSETS = {
    "cases with patient and navigator": lambda: NavigationCase.objects.select_related(
        "patient", "navigator__user"
    ).order_by("pk"),
    "navigators (a phone number field)": lambda: NavigatorProfile.objects.select_related(
        "user"
    ).order_by("pk"),
    "patients": lambda: Patient.objects.order_by("pk"),
    "phones (converted on assignment)": lambda: PatientPhone.objects.select_related(
        "patient"
    ).order_by("pk"),
    "deferred fields": lambda: Patient.objects.only("pk", "mrn").order_by("pk"),
    "a null foreign key": lambda: NavigationCase.objects.select_related("navigator").order_by("pk"),
}


@pytest.mark.parametrize("name", QUERYSETS)
def test_instances_agree_with_from_db(navigator, name):
    # Given a varied caseload (every reason, phones, a covered colleague, no navigator)
    caseload(navigator, 12)
    factories.CaseFactory(navigator=None)
    NavigatorProfile.objects.filter(pk=navigator.pk).update(work_phone="+16175550123")

    # When the rows are built here and by Django
    (fast, fast_noted), (orm, orm_noted) = _both(QUERYSETS[name]())

    # Then every instance holds the same, and the same patients are noted
    assert fast
    assert [_state(i) for i in fast] == [_state(i) for i in orm]
    assert fast_noted == orm_noted


def test_a_related_row_met_again_in_one_read_is_one_instance(navigator):
    # Given a navigator with several cases in one programme
    caseload(navigator, 6)
    queryset = (
        NavigationCase.objects.filter(navigator=navigator)
        .select_related("patient", "program", "navigator__user")
        .order_by("pk")
    )

    # When their cases are read with their patients, programme, navigator and user
    (fast, _), (orm, _) = _both(queryset)

    # Then the navigator and their user are one instance on every row (each other's
    # too), the patients one each, and every row holds what Django's holds
    assert len(fast) == 6
    assert len({id(case.navigator) for case in fast}) == 1
    assert fast[0].navigator.user.navigator_profile is fast[0].navigator
    assert len({id(case.patient) for case in fast}) == len({case.patient_id for case in fast})
    assert [_state(i) for i in fast] == [_state(i) for i in orm]


def test_a_phone_is_converted_as_its_descriptor_converts(navigator):
    NavigatorProfile.objects.filter(pk=navigator.pk).update(work_phone="+16175550123")
    (fast, _), (orm, _) = _both(NavigatorProfile.objects.filter(pk=navigator.pk))
    assert type(fast[0].work_phone) is type(orm[0].work_phone)
    assert fast[0].work_phone == orm[0].work_phone


def test_a_model_with_an_init_receiver_is_built_by_from_db():
    def receiver(**kwargs):
        pass

    signals.post_init.connect(receiver, sender=Patient)
    try:
        assert built.instance_maker(Patient) == Patient.from_db
    finally:
        signals.post_init.disconnect(receiver, sender=Patient)
    assert built.instance_maker(Patient) != Patient.from_db


def _clear_kept() -> None:
    replayed._CACHE.entries.clear()  # noqa: SLF001 - the test empties the process's cache
    COMPILED.entries.clear()


def _api(client, path, authorization):
    _clear_kept()
    response = client.get(path, HTTP_AUTHORIZATION=authorization, secure=True)
    client.get(path, HTTP_AUTHORIZATION=authorization, secure=True)  # from the kept SQL
    response_again = client.get(path, HTTP_AUTHORIZATION=authorization, secure=True)
    assert response.status_code == response_again.status_code == 200
    assert response.content == response_again.content
    events = list(AccessEvent.objects.order_by("-pk")[:3])
    return response_again.content, [
        (e.user_id, e.action, e.path, sorted(e.patients.values_list("patient_id", flat=True)))
        for e in events
    ]


@pytest.mark.parametrize("who", ["navigator", "manager"])
def test_the_api_answers_and_audits_the_same_bytes_either_way(
    client, navigator, manager, monkeypatch, who
):
    # Given a varied worklist, and the API as a navigator and as a manager
    caseload(navigator, 60)
    user = navigator.user if who == "navigator" else manager
    path = "/api/worklist/" if who == "navigator" else f"/api/worklist/?navigator={navigator.pk}"
    authorization = token_authorization(user)

    # When it is read with instances built here, and with from_db throughout
    fast = _api(client, path, authorization)
    monkeypatch.setattr(built, "instance_maker", lambda model: model.from_db)
    orm = _api(client, path, authorization)

    # Then the JSON is byte for byte the same, and so are the access records
    assert fast[0] == orm[0]
    assert fast[1] == orm[1]
    assert fast[1][0][3]  # the page's patients are recorded
