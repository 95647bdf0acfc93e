"""Managers see and adjust a program's rules; every change is a version with before and after."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patients.models import RuleVersion, ScreeningModality
from tests.factories import ManagerFactory, NavigatorFactory, program

pytestmark = pytest.mark.django_db


def rules_post(colorectal, **overrides) -> dict:
    data = {
        "min_age": colorectal.min_age,
        "max_age": colorectal.max_age,
        "due_soon_days": colorectal.due_soon_days,
        "active": "on",
        "summary": "Local protocol",
    }
    for modality in colorectal.modalities.all():
        data[f"modality_{modality.code}_interval"] = modality.interval_months
        data[f"modality_{modality.code}_active"] = "on"
    for exclusion in colorectal.exclusions.all():
        data[f"exclusion_{exclusion.code}_lookback"] = exclusion.lookback_months or ""
        data[f"exclusion_{exclusion.code}_active"] = "on"
    data.update(overrides)
    return data


@pytest.fixture
def manager_client(client):
    manager = ManagerFactory(first_name="Grace", last_name="Lee")
    client.force_login(manager)
    return client


def test_the_rules_page_shows_the_rules_and_the_first_version(manager_client):
    response = manager_client.get(reverse("patients:program_rules", args=["colorectal"]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Colonoscopy: interval (months)" in page
    assert "Version 1" in page
    assert "Hospice care: look-back" in page


def test_saving_a_change_records_a_version_with_the_change_in_words(manager_client):
    colorectal = program("colorectal")
    url = reverse("patients:program_rules", args=["colorectal"])

    response = manager_client.post(
        url,
        rules_post(colorectal, due_soon_days=90, modality_fit_interval=24, summary="FIT biennial"),
        follow=True,
    )

    page = response.content.decode()
    # Versions 1 and 2 are the migrations' (the rules, then their result pathways).
    assert "Rules version 3 saved" in page
    version = RuleVersion.objects.get(program=colorectal, number=3)
    assert version.changed_by.first_name == "Grace"
    assert version.summary == "FIT biennial"
    assert "due_soon_days: 60 → 90" in page
    assert "FIT (fecal immunochemical test) interval_months: 12 → 24" in page
    assert ScreeningModality.objects.get(program=colorectal, code="fit").interval_months == 24


def test_saving_without_a_change_records_nothing(manager_client):
    colorectal = program("colorectal")

    response = manager_client.post(
        reverse("patients:program_rules", args=["colorectal"]), rules_post(colorectal), follow=True
    )

    assert "Nothing changed" in response.content.decode()
    assert RuleVersion.objects.filter(program=colorectal).count() == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_age", 30, "The oldest age is below the youngest."),
        ("due_soon_days", 400, "less than or equal to 365"),
        ("modality_fit_interval", 0, "greater than or equal to 1"),
        ("summary", "", "This field is required."),
    ],
)
def test_a_bad_change_is_refused_with_the_reason_and_changes_nothing(
    manager_client, field, value, message
):
    colorectal = program("colorectal")

    response = manager_client.post(
        reverse("patients:program_rules", args=["colorectal"]),
        rules_post(colorectal, **{field: value}),
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    colorectal.refresh_from_db()
    assert colorectal.rule_version == 2
    assert ScreeningModality.objects.get(program=colorectal, code="fit").interval_months == 12


def test_navigators_cannot_see_or_change_the_rules(client):
    navigator = NavigatorFactory()
    client.force_login(navigator.user)

    assert client.get(reverse("patients:program_rules", args=["colorectal"])).status_code == 403


def test_an_unknown_program_is_404(manager_client):
    assert manager_client.get(reverse("patients:program_rules", args=["nope"])).status_code == 404
