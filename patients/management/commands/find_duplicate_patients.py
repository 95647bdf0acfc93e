"""`manage.py find_duplicate_patients`: patients who are likely one person.

Prints patient ids and clinic codes only, never names, birth dates or MRNs: a
command's output ends up in cron mail and logs. Managers see the details, and
the patients, at /patients/duplicates/.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from patients.duplicates import patient_duplicate_groups


class Command(BaseCommand):
    help = (
        "List patients who are likely the same person (ids only; details at /patients/duplicates/)."
    )

    def handle(self, *args, **options) -> None:
        groups = patient_duplicate_groups()
        for group in groups:
            kind = "same MRN at one clinic" if group.by_mrn else "same name and birth date"
            members = ", ".join(f"#{p.pk} ({p.clinic.code})" for p in group.patients)
            self.stdout.write(f"{kind}: {members}")
        plural = "" if len(groups) == 1 else "s"
        self.stdout.write(f"{len(groups)} group{plural} of likely duplicate patients.")
