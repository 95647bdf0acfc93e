"""`any_of.among` finds the rows `field__in` finds (as one array parameter on PostgreSQL):
text and integer columns, an annotation, values that match nothing, an empty list."""

from __future__ import annotations

import pytest
from django.db import connection

from config.any_of import among
from patients.models import Patient, PatientSourceLink
from patients.mrn import mrn_key
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def links():
    feed = factories.FhirSourceFactory(key="ehr")
    found = []
    for n in range(6):
        patient = factories.PatientFactory(clinic=feed.clinic, mrn=f" m{n} ")
        found.append(
            PatientSourceLink.objects.create(source=feed, resource_id=f"p-{n}", patient=patient)
        )
    return found


def both(queryset, field, values):
    by_in = sorted(queryset.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
    by_among = sorted(queryset.filter(among(field, values)).values_list("pk", flat=True))
    return by_in, by_among


def test_among_finds_what_in_finds(links):
    patients = [link.patient_id for link in links]
    cases = [
        (PatientSourceLink.objects.all(), "resource_id", ["p-1", "p-3", "nobody", "P-2"]),
        (PatientSourceLink.objects.all(), "resource_id", ["nobody"]),
        (Patient.objects.all(), "pk", [*patients[:3], -1]),
        (Patient.objects.annotate(key=mrn_key()), "key", ["M1", "M4", " m2 ", "m5"]),
        (Patient.objects.all(), "pk", []),
    ]
    found = 0
    for queryset, field, values in cases:
        by_in, by_among = both(queryset, field, values)
        assert by_in == by_among, (field, values)
        found += len(by_in)
    assert found == 2 + 3 + 2


def test_among_is_one_array_parameter_on_postgresql(links):
    sql, params = PatientSourceLink.objects.filter(
        among("resource_id", ["p-1", "p-2"])
    ).query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(%s::text[])" in sql and ["p-1", "p-2"] in params
    else:
        assert " IN (%s, %s)" in sql
    # A set of primary keys, in an UPDATE: the rows `__in` names.
    changed = Patient.objects.filter(
        among("pk", {links[0].patient_id, links[1].patient_id})
    ).update(city="Lowell")
    assert changed == 2
    assert Patient.objects.filter(city="Lowell").count() == 2
