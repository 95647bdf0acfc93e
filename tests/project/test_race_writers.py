"""Race/ethnicity answers, `Patient.race_group` and `race_ethnicity_source` change together
or not at all: only `patients.services.patients` (`patient_race_set`) writes any of them,
checked over the source."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGES = ("config", "patients", "navigator", "outreach")
THE_SERVICE = "patients/services/patients.py"

# Ways to create, change or delete rows, or set the group, in Django code.
WRITES = [
    re.compile(r"\bPatientRaceEthnicity\s*\("),  # building a row to save
    re.compile(
        r"\bPatientRaceEthnicity\.objects\b[\s\S]{0,200}?\."
        r"(create|bulk_create|get_or_create|update_or_create|update|bulk_update|delete)\s*\("
    ),
    re.compile(
        r"\brace_ethnicities\b[\s\S]{0,80}?\."
        r"(create|bulk_create|get_or_create|update_or_create|add|set|remove|clear|update|delete)\s*\("
    ),
    re.compile(r"\brace_group\s*=(?!=)"),  # patient.race_group = … or .update(race_group=…)
    re.compile(r"\bmodel\s*=\s*PatientRaceEthnicity\b"),  # a form or an editable admin inline
    # Who gave the answers changes with them: patient.race_ethnicity_source = …,
    # .update(race_ethnicity_source=…) or Patient(race_ethnicity_source=…).
    re.compile(r"\.race_ethnicity_source\s*=(?!=)"),
    re.compile(r"\.update\([^)]{0,300}?\brace_ethnicity_source\s*="),
    re.compile(r"\bPatient\([^)]{0,600}?\brace_ethnicity_source\s*="),
]


def writes_in(text: str) -> list[str]:
    return [match.group(0) for pattern in WRITES for match in pattern.finditer(text)]


def source_files() -> list[Path]:
    files = []
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative.startswith("patients/models/"):
                continue  # the schema and its backfill, and the field's own definition
            files.append(path)
    return files


def test_only_the_race_service_writes_race_answers_or_the_race_group():
    # Given every source module of the project (not migrations or model definitions)
    offenders = {}
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative == THE_SERVICE:
            continue
        # When it is searched for a write of the rows or of the group
        found = writes_in(path.read_text())
        if found:
            offenders[relative] = found
    # Then none has one, apart from the read-only admin inline, which may name the model
    assert set(offenders) <= {"patients/admin.py"}, offenders
    assert all(
        re.fullmatch(r"model\s*=\s*PatientRaceEthnicity", found)
        for found in offenders.get("patients/admin.py", [])
    )


def test_the_admin_shows_race_answers_without_letting_anyone_edit_them(rf, admin_user):
    from django.contrib import admin

    from patients.models import Patient

    # Given the patient admin page and its race/ethnicity inline
    inline_class = next(
        inline
        for inline in admin.site._registry[Patient].inlines
        if inline.model.__name__ == "PatientRaceEthnicity"
    )
    inline = inline_class(Patient, admin.site)
    request = rf.get("/")
    request.user = admin_user
    # Then even a superuser may neither add, change nor delete rows there
    assert not inline.has_add_permission(request, None)
    assert not inline.has_change_permission(request, None)
    assert not inline.has_delete_permission(request, None)


def test_the_search_recognises_each_kind_of_write():
    # Given snippets that would write rows or the group behind the service's back
    writes = [
        "PatientRaceEthnicity.objects.bulk_create([PatientRaceEthnicity(patient=p, category=c)])",
        "PatientRaceEthnicity.objects.filter(patient=p).delete()",
        "PatientRaceEthnicity.objects.filter(\n    patient=p\n).update(category='white')",
        "patient.race_ethnicities.create(category='asian')",
        "patient.race_ethnicities.all().delete()",
        "patient.race_group = 'multi'",
        "Patient.objects.filter(pk=1).update(race_group='multi')",
        "    model = PatientRaceEthnicity",
        "patient.race_ethnicity_source = 'proxy'",
        "Patient.objects.filter(pk=1).update(race_ethnicity_source='proxy')",
        "Patient(clinic=c, mrn='1', race_ethnicity_source='observer')",
    ]
    # Then each is found, while reading them is not
    assert all(writes_in(snippet) for snippet in writes)
    reads = [
        "patient.race_ethnicities.values_list('category', flat=True)",
        "PatientRaceEthnicity.objects.filter(category='white').count()",
        "if patient.race_group == 'multi':",
        "queryset.values('patient__race_group')",
        "PatientInput(race_ethnicity_source=data['race_ethnicity_source'])",
        "if patient.race_ethnicity_source == 'proxy':",
    ]
    assert not any(writes_in(snippet) for snippet in reads)
