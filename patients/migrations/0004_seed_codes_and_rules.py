"""Seed the engine's concepts with starter codes, link modalities, add exclusions.

Also records version 1 of each program's rules, so that every later change has
a “before”.
"""

from django.db import migrations

from patients.caregaps.builtin_codes import (
    COMMON_EXCLUSIONS,
    CONCEPTS,
    EXCLUSIONS,
    MODALITY_CONCEPTS,
)


def rules_snapshot(program, Modality, Exclusion):
    # Keep in step with patients.selectors.program_rules_snapshot (a test checks).
    return {
        "min_age": program.min_age,
        "max_age": program.max_age,
        "sex": program.sex,
        "min_pack_years": program.min_pack_years,
        "due_soon_days": program.due_soon_days,
        "active": program.active,
        "modalities": [
            {
                "code": m.code,
                "name": m.name,
                "interval_months": m.interval_months,
                "min_age": m.min_age,
                "concept": m.concept.key if m.concept_id else None,
                "active": m.active,
            }
            for m in Modality.objects.filter(program=program).order_by("code")
        ],
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
    }


def seed(apps, schema_editor):
    Concept = apps.get_model("patients", "CodeConcept")
    ConceptCode = apps.get_model("patients", "ConceptCode")
    Program = apps.get_model("patients", "ScreeningProgram")
    Modality = apps.get_model("patients", "ScreeningModality")
    Exclusion = apps.get_model("patients", "ProgramExclusion")
    RuleVersion = apps.get_model("patients", "RuleVersion")

    concepts = {}
    for spec in CONCEPTS:
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

    for (program_code, modality_code), concept_key in MODALITY_CONCEPTS.items():
        Modality.objects.filter(program__code=program_code, code=modality_code).update(
            concept=concepts[concept_key]
        )

    programs = {p.code: p for p in Program.objects.all()}
    rows = list(EXCLUSIONS)
    for program_code in ("colorectal", "breast", "cervical"):
        rows += [(program_code, *common) for common in COMMON_EXCLUSIONS]
    for program_code, code, name, all_of, lookback, min_age in rows:
        if program_code not in programs:
            continue
        exclusion, _ = Exclusion.objects.update_or_create(
            program=programs[program_code],
            code=code,
            defaults={"name": name, "lookback_months": lookback, "min_age": min_age},
        )
        exclusion.all_of.set([concepts[key] for key in all_of])

    for program in programs.values():
        RuleVersion.objects.get_or_create(
            program=program,
            number=1,
            defaults={
                "summary": "Initial rules (USPSTF schedule, CMS exclusions)",
                "after": rules_snapshot(program, Modality, Exclusion),
            },
        )


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_clinical_data_and_care_gaps")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
