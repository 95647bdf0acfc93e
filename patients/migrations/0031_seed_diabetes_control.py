"""Seed the diabetes control programme (issue 16), the first of kind "control".

Its rules, as data a programme manager may change (each change a new rule
version):

- eligibility: ages 18–75 with diabetes (CMS122's value set
  2.16.840.1.113883.3.464.1003.103.12.1001), as CMS122's initial population;
- the labs: HbA1c (value set 2.16.840.1.113883.3.464.1003.198.12.1013) and the
  glucose management indicator (LOINC 97506-0), CMS122's glycemic status
  assessments;
- target HbA1c < 8 % (a common individual goal; the clinician may set another),
  poor control above 9 % (CMS122's numerator);
- the next lab 6 months after one at target, 3 months after one that is not
  (ADA Standards of Care in Diabetes 2025, section 6: A1C at least twice a year
  in patients meeting treatment goals, quarterly in those who are not);
- exclusions: hospice, palliative care, and from 66 frailty with advanced illness
  or living long term in a nursing home, as CMS122's denominator exclusions.

CMS122's stored population rows were kept without a programme until one with
its code existed (0029); they take this one now.
"""

from decimal import Decimal

from django.db import migrations

from patients.caregaps.builtin_codes import COMMON_EXCLUSIONS, CONCEPTS

CODE = "diabetes"
CONTROL_CONCEPTS = ("diabetes", "hba1c", "gmi")


def number(value):
    return None if value is None else f"{value.normalize():f}"


def rules_snapshot(program, Exclusion):
    # Keep in step with patients.selectors.program_rules_snapshot (a test checks).
    return {
        "min_age": program.min_age,
        "max_age": program.max_age,
        "sex": program.sex,
        "min_pack_years": program.min_pack_years,
        "due_soon_days": program.due_soon_days,
        "active": program.active,
        "modalities": [],
        "result_categories": [],
        "follow_up_pathways": [],
        "exclusions": [
            {
                "code": e.code,
                "name": e.name,
                "all_of": sorted(c.key for c in e.all_of.all()),
                "lookback_months": e.lookback_months,
                "min_age": e.min_age,
                "active": e.active,
            }
            for e in Exclusion.objects.filter(program=program).order_by("code")
        ],
        "kind": "control",
        "control": {
            "condition": program.condition_concept.key,
            "labs": sorted(c.key for c in program.lab_concepts.all()),
            "target": number(program.target_value),
            "unit": program.target_unit,
            "poor_control": number(program.poor_control_value),
            "interval_months": program.lab_interval_months,
            "interval_above_target_months": program.lab_interval_above_target_months,
        },
    }


def seed(apps, schema_editor):
    Concept = apps.get_model("patients", "CodeConcept")
    ConceptCode = apps.get_model("patients", "ConceptCode")
    Program = apps.get_model("patients", "ScreeningProgram")
    Exclusion = apps.get_model("patients", "ProgramExclusion")
    RuleVersion = apps.get_model("patients", "RuleVersion")
    MeasurePopulation = apps.get_model("patients", "MeasurePopulation")

    concepts = {}
    for spec in CONCEPTS:
        if spec["key"] not in CONTROL_CONCEPTS:
            continue
        concept, _ = Concept.objects.update_or_create(
            key=spec["key"],
            defaults={
                "name": spec["name"],
                "kind": spec["kind"],
                "value_set_urls": spec["value_sets"],
            },
        )
        concepts[spec["key"]] = concept
        for system, code, display in spec["codes"]:
            ConceptCode.objects.update_or_create(
                concept=concept, system=system, code=code, defaults={"display": display}
            )

    if Program.objects.filter(code=CODE).exists():
        return  # an installation that made its own keeps it
    program = Program.objects.create(
        code=CODE,
        name="Diabetes control",
        min_age=18,
        max_age=75,
        sex="any",
        guideline=(
            "CMS122 (HbA1c/GMI > 9 % is poor control); ADA Standards of Care 2025 §6: "
            "A1C twice a year at goal, quarterly when not"
        ),
        kind="control",
        condition_concept=concepts["diabetes"],
        target_value=Decimal(8),
        target_unit="%",
        poor_control_value=Decimal(9),
        lab_interval_months=6,
        lab_interval_above_target_months=3,
    )
    program.lab_concepts.set([concepts["hba1c"], concepts["gmi"]])
    for code, name, all_of, lookback, min_age in COMMON_EXCLUSIONS:
        exclusion = Exclusion.objects.create(
            program=program, code=code, name=name, lookback_months=lookback, min_age=min_age
        )
        exclusion.all_of.set(Concept.objects.filter(key__in=all_of))
    RuleVersion.objects.create(
        program=program,
        number=1,
        summary="Initial rules (CMS122 population, target and threshold; ADA 2025 lab intervals)",
        before={},
        after=rules_snapshot(program, Exclusion),
    )
    MeasurePopulation.objects.filter(measure="CMS122", program__isnull=True).update(program=program)


class Migration(migrations.Migration):
    dependencies = [("patients", "0030_program_kind_and_control_rules")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
