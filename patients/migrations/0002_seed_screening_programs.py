"""Seed the USPSTF screening schedule as data that managers can adjust."""

from django.db import migrations

PROGRAMS = [
    {
        "code": "colorectal",
        "name": "Colorectal cancer",
        "min_age": 45,
        "max_age": 75,
        "sex": "any",
        "min_pack_years": None,
        "guideline": "USPSTF 2021: adults 45 to 75",
        "modalities": [
            ("colonoscopy", "Colonoscopy", 120, "", None),
            ("fit", "FIT (fecal immunochemical test)", 12, "", None),
            ("gfobt", "High-sensitivity guaiac FOBT", 12, "", None),
            ("sdna-fit", "Stool DNA-FIT", 36, "Every 1 to 3 years", None),
            ("ct-colonography", "CT colonography", 60, "", None),
            ("flex-sig", "Flexible sigmoidoscopy", 60, "", None),
        ],
    },
    {
        "code": "breast",
        "name": "Breast cancer",
        "min_age": 40,
        "max_age": 74,
        "sex": "female",
        "min_pack_years": None,
        "guideline": "USPSTF 2024: women 40 to 74, every 2 years",
        "modalities": [("mammography", "Mammography", 24, "", None)],
    },
    {
        "code": "cervical",
        "name": "Cervical cancer",
        "min_age": 21,
        "max_age": 65,
        "sex": "female",
        "min_pack_years": None,
        "guideline": "USPSTF 2018: women 21 to 65",
        "modalities": [
            ("cytology", "Cervical cytology (Pap)", 36, "", None),
            ("hrhpv", "High-risk HPV test", 60, "From age 30", 30),
            ("cotest", "Co-test (cytology and hrHPV)", 60, "From age 30", 30),
        ],
    },
    {
        "code": "lung",
        "name": "Lung cancer",
        "min_age": 50,
        "max_age": 80,
        "sex": "any",
        "min_pack_years": 20,
        "guideline": "USPSTF 2021: adults 50 to 80 with a 20 pack-year smoking history",
        "modalities": [("ldct", "Low-dose CT", 12, "", None)],
    },
]


def seed(apps, schema_editor):
    Program = apps.get_model("patients", "ScreeningProgram")
    Modality = apps.get_model("patients", "ScreeningModality")
    for spec in PROGRAMS:
        spec = dict(spec)
        modalities = spec.pop("modalities")
        program, _ = Program.objects.update_or_create(code=spec.pop("code"), defaults=spec)
        for code, name, months, note, min_age in modalities:
            Modality.objects.update_or_create(
                program=program,
                code=code,
                defaults={
                    "name": name,
                    "interval_months": months,
                    "interval_note": note,
                    "min_age": min_age,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
