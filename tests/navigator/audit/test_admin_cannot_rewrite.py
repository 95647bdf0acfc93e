"""Not even an administrator can alter or delete an audit row, a timeline row or a
case through the admin site (issue 14, acceptance; 45 CFR 164.312(c)(1) integrity)."""

from __future__ import annotations

import pgtrigger
import pytest
from django.contrib import admin
from django.urls import reverse

from navigator.audit.models import AccessedPatient, AccessEvent, RowChange
from navigator.models import CaseEvent, NavigationCase
from tests import factories

pytestmark = pytest.mark.django_db

PROTECTING = {"never_deleted", "never_rewritten"}


def _admin_url(obj, action: str) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=[obj.pk])


@pytest.fixture
def superuser_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_an_administrator_cannot_delete_a_case_or_its_timeline_row(superuser_client):
    # Given a case with a timeline row
    case = factories.CaseFactory(status="assigned")
    event = CaseEvent.objects.create(case=case, kind="note", summary="Called")

    # When a superuser confirms the admin's delete page for each
    for obj in (case, event):
        response = superuser_client.post(_admin_url(obj, "delete"), {"post": "yes"})
        # Then the admin refuses
        assert response.status_code == 403

    # And both are still there, unchanged
    assert NavigationCase.objects.filter(pk=case.pk, status="assigned").exists()
    assert CaseEvent.objects.filter(pk=event.pk, summary="Called").exists()


def test_an_administrator_cannot_edit_a_timeline_row(superuser_client):
    # Given a timeline row
    event = CaseEvent.objects.create(case=factories.CaseFactory(), kind="note", summary="Called")

    # When a superuser posts a change to it
    superuser_client.post(_admin_url(event, "change"), {"summary": "Reached", "kind": "note"})

    # Then nothing changed
    event.refresh_from_db()
    assert event.summary == "Called"


def test_an_administrator_cannot_alter_or_delete_an_audit_row(superuser_client):
    # Given the superuser's own audit row (opening the admin index is an access)
    superuser_client.get(reverse("admin:index"))
    row = AccessEvent.objects.get(route="admin:index")

    # When they try to edit it and to delete it
    superuser_client.post(_admin_url(row, "change"), {"username": "someone-else"})
    deleted = superuser_client.post(_admin_url(row, "delete"), {"post": "yes"})

    # Then the delete is refused and the row is as it was
    assert deleted.status_code == 403
    row.refresh_from_db()
    assert row.username == "admin"


def test_no_admin_page_may_delete_a_record_the_database_protects(rf, admin_user):
    # Given every model the database keeps from deletion or rewriting
    # (the audit trail's own tables are protected by audit migration 0003)
    protected = {
        model for model, trigger in pgtrigger.registered() if trigger.name in PROTECTING
    } | {AccessEvent, AccessedPatient, RowChange}
    request = rf.get("/")
    request.user = admin_user

    # Then wherever the admin shows one, even a superuser may not delete it
    shown = [model for model in protected if model in admin.site._registry]
    assert NavigationCase in shown and CaseEvent in shown and AccessEvent in shown
    allowed = [m.__name__ for m in shown if admin.site._registry[m].has_delete_permission(request)]
    assert allowed == []
