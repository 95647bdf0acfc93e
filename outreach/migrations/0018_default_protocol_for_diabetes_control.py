"""The default outreach protocol (0003's: phone day 0, phone day 2, letter day 7,
text day 14; unreachable after 4 attempts over 14 days; follow up 7 days after
reaching the patient) for the diabetes control programme seeded by patients 0031,
so that every programme starts with one, as before."""

from django.db import migrations

STEPS = [(1, 0, "phone"), (2, 2, "phone"), (3, 7, "letter"), (4, 14, "sms")]


def seed(apps, schema_editor):
    Program = apps.get_model("patients", "ScreeningProgram")
    Protocol = apps.get_model("outreach", "OutreachProtocol")
    Step = apps.get_model("outreach", "ProtocolStep")
    for program in Program.objects.filter(code="diabetes"):
        protocol, created = Protocol.objects.get_or_create(
            program=program,
            defaults={
                "unreachable_after_attempts": 4,
                "unreachable_after_days": 14,
                "reached_follow_up_days": 7,
            },
        )
        if created:
            Step.objects.bulk_create(
                Step(protocol=protocol, order=order, day=day, channel=channel)
                for order, day, channel in STEPS
            )


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0017_coaching_interpreters_and_reminders"),
        ("patients", "0031_seed_diabetes_control"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
