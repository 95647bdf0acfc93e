"""Seed the barrier taxonomy, grouped as the Patient Navigation Research Program did."""

from django.db import migrations

CATEGORIES = [
    ("financial", "Financial", [
        ("cost-insurance", "Cost or insurance"),
        ("housing-food-insecurity", "Housing or food insecurity"),
    ]),
    ("comorbidities", "Comorbidities", [
        ("competing-health-problems", "Competing health problems"),
    ]),
    ("beliefs-attitudes", "Beliefs and attitudes", [
        ("fear-anxiety", "Fear or anxiety"),
        ("distrust", "Distrust of the health system"),
    ]),
    ("transportation", "Transportation", [
        ("transportation", "Transportation"),
        ("no-escort-after-sedation", "No escort after sedation"),
    ]),
    ("demands-from-others", "Demands from others", [
        ("work-childcare", "Work or childcare"),
    ]),
    ("logistics", "Logistics", [
        ("scheduling-access", "Scheduling or access"),
    ]),
    ("communication", "Communication", [
        ("language", "Language"),
        ("prep-understanding", "Bowel-prep or procedure understanding"),
        ("health-literacy", "Health literacy"),
    ]),
]  # fmt: skip


def seed(apps, schema_editor):
    Category = apps.get_model("navigator", "BarrierCategory")
    BarrierType = apps.get_model("navigator", "BarrierType")
    for order, (code, name, types) in enumerate(CATEGORIES):
        category, _ = Category.objects.update_or_create(
            code=code, defaults={"name": name, "order": order}
        )
        for type_code, type_name in types:
            BarrierType.objects.update_or_create(
                code=type_code, defaults={"name": type_name, "category": category}
            )


class Migration(migrations.Migration):
    dependencies = [("navigator", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
