"""A stored population row's programme may be empty: CMS122 (diabetes control) is
computed from EHR data whether or not EquiNav runs a diabetes programme yet, and
its rows take the programme once one with its code exists."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0028_care_gap_stamp_table"),
    ]

    operations = [
        migrations.AlterField(
            model_name="measurepopulation",
            name="program",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="patients.screeningprogram",
            ),
        ),
    ]
