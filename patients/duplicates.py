"""Likely duplicate patients (a read): the same MRN at one clinic however it was typed,
or the same name and birth date at any clinic. Its own module beside `selectors.py`,
which holds the scoped reads of every other patients page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, Q
from django.db.models.functions import Lower, Trim

from patients.models import Patient
from patients.mrn import mrn_key


@dataclass(frozen=True)
class DuplicateGroup:
    """Patients who are likely one person, and why we think so."""

    reason: str
    patients: list[Patient]
    by_mrn: bool


def patient_duplicate_groups() -> list[DuplicateGroup]:
    """Patients who are likely the same person: the same MRN at one clinic however it
    was typed (patients.mrn), or the same name and birth date at any clinic.

    Three queries: the MRNs and the name-and-birth-date keys that more than one
    patient shares, then those patients with their clinic.
    """
    unmerged = Patient.objects.filter(merged_into__isnull=True)
    by_mrn = (
        unmerged.exclude(mrn="")
        .annotate(mrn_key=mrn_key())
        .values("clinic_id", "mrn_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("clinic_id", "mrn_key")
    )
    by_person = (
        unmerged.annotate(given=Lower(Trim("given_name")), family=Lower(Trim("family_name")))
        .values("given", "family", "birth_date")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("given", "family", "birth_date")
    )
    mrn_keys = set(by_mrn)
    person_keys = set(by_person)
    if not (mrn_keys or person_keys):
        return []
    matches = Q(pk__in=[])
    for clinic_id, key in mrn_keys:
        matches |= Q(clinic_id=clinic_id, mrn_key=key)
    for given, family, birth_date in person_keys:
        matches |= Q(given=given, family=family, birth_date=birth_date)
    # The keys come back with each patient as the database computed them, so that
    # grouping here agrees with the grouping above whatever the letters.
    patients = list(
        unmerged.annotate(
            mrn_key=mrn_key(), given=Lower(Trim("given_name")), family=Lower(Trim("family_name"))
        )
        .filter(matches)
        .select_related("clinic")
        .order_by("pk")
    )
    groups: dict[tuple[Any, ...], list[Patient]] = defaultdict(list)
    for patient in patients:
        keys = cast(Any, patient)
        if patient.mrn and (patient.clinic_id, keys.mrn_key) in mrn_keys:
            groups[("mrn", patient.clinic_id, keys.mrn_key)].append(patient)
        person = (keys.given, keys.family, patient.birth_date)
        if person in person_keys:
            groups[("person", *person)].append(patient)
    found = [
        DuplicateGroup(
            reason=f"Same MRN {key[2]} at {members[0].clinic.name}"
            if key[0] == "mrn"
            else "Same name and birth date",
            patients=members,
            by_mrn=key[0] == "mrn",
        )
        for key, members in groups.items()
    ]
    # A pair found by both its MRN and its name is listed once, by its MRN.
    unique: list[DuplicateGroup] = []
    seen: set[tuple[int, ...]] = set()
    for group in sorted(found, key=lambda g: (not g.by_mrn, g.patients[0].pk)):
        ids = tuple(p.pk for p in group.patients)
        if ids not in seen:
            seen.add(ids)
            unique.append(group)
    return unique
