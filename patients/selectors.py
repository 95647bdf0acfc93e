"""Reads for patients and referrals. Each model has one scoping function."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import F, QuerySet

from navigator.models import User
from patients.caregaps.codes import normalise_system
from patients.models import (
    CareGap,
    CodeConcept,
    Patient,
    PatientSourceLink,
    Referral,
    RuleVersion,
    ScreeningProgram,
    ValueSet,
)


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """Managers and admins: every patient. Navigators: those they have a case for.
    Clinic staff: their own clinic's patients. Anyone else: none."""
    patients = Patient.objects.all()
    if not user.is_authenticated:
        return patients.none()
    if user.sees_all_cases:
        return patients
    if user.is_navigator:
        return patients.filter(navigation_cases__navigator__user=user).distinct()
    if user.is_clinic_staff and user.clinic_id is not None:
        return patients.filter(clinic_id=user.clinic_id)
    return patients.none()


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    referrals = Referral.objects.all()
    if not user.is_authenticated:
        return referrals.none()
    if user.sees_all_cases:
        return referrals
    if user.is_clinic_staff and user.clinic_id is not None:
        return referrals.filter(clinic_id=user.clinic_id)
    if user.is_navigator:
        return referrals.filter(case__navigator__user=user)
    return referrals.none()


def referral_list(*, user: User) -> QuerySet[Referral]:
    return referrals_visible_to(user).select_related("clinic", "patient", "program", "case")


def programs_active() -> QuerySet[ScreeningProgram]:
    return ScreeningProgram.objects.filter(active=True).prefetch_related("modalities")


# --- Codes ---------------------------------------------------------------------------


Code = tuple[str, str]


def concept_codes(keys: Iterable[str] | None = None) -> dict[str, frozenset[Code]]:
    """Each concept's codes (system, code), by concept key.

    A concept's codes are the union of those of its official value sets
    (`value_set_urls`) that are loaded, or, while none of them is, its built-in
    starter codes. Two queries whatever the number of concepts: the concepts
    with their starter codes, and the codes of their loaded value sets.
    """
    concepts = CodeConcept.objects.all()
    if keys is not None:
        concepts = concepts.filter(key__in=list(keys))
    urls_by_concept: dict[str, list[str]] = {}
    starter: dict[str, set[Code]] = defaultdict(set)
    for key, urls, system, code in concepts.values_list(
        "key", "value_set_urls", "codes__system", "codes__code"
    ):
        if key not in urls_by_concept:
            urls_by_concept[key] = (
                [url for url in urls if isinstance(url, str)] if isinstance(urls, list) else []
            )
        if code is not None:
            starter[key].add((normalise_system(system), code))
    loaded = value_set_codes({url for urls in urls_by_concept.values() for url in urls})
    answer: dict[str, frozenset[Code]] = {}
    for key, urls in urls_by_concept.items():
        official = [loaded[url] for url in urls if url in loaded]
        answer[key] = frozenset().union(*official) if official else frozenset(starter[key])
    return answer


def value_set_codes(urls: Iterable[str]) -> dict[str, frozenset[Code]]:
    """The codes of each loaded value set, by URL; URLs not loaded are absent. One query."""
    wanted = set(urls)
    if not wanted:
        return {}
    codes: dict[str, set[Code]] = {}
    for url, system, code in ValueSet.objects.filter(url__in=wanted).values_list(
        "url", "codes__system", "codes__code"
    ):
        found = codes.setdefault(url, set())
        if code is not None:
            found.add((normalise_system(system), code))
    return {url: frozenset(found) for url, found in codes.items()}


# --- Care gaps --------------------------------------------------------------------------


def care_gaps_for(patient: Patient) -> QuerySet[CareGap]:
    return (
        CareGap.objects.filter(patient=patient)
        .select_related("program", "last_modality")
        .order_by("program__name")
    )


def feed_ids_for(patient: Patient) -> QuerySet[PatientSourceLink]:
    return PatientSourceLink.objects.filter(patient=patient).select_related("source")


def care_gap_list(*, user: User, program: str = "", status: str = "") -> QuerySet[CareGap]:
    """Care gaps of the patients this user may see, most overdue first."""
    gaps = CareGap.objects.filter(patient__in=patients_visible_to(user))
    if program:
        gaps = gaps.filter(program__code=program)
    if status:
        gaps = gaps.filter(status=status)
    return gaps.select_related("patient__clinic", "program", "last_modality").order_by(
        F("overdue_since").asc(nulls_last=True), "next_due_on", "patient__family_name", "pk"
    )


# --- Program rules -----------------------------------------------------------------------


def rule_versions_for(program: ScreeningProgram) -> QuerySet[RuleVersion]:
    return (
        RuleVersion.objects.filter(program=program).select_related("changed_by").order_by("-number")
    )


def rule_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a rule version changed, in words: "FIT interval_months: 12 → 24"."""
    changes = [
        f"{name}: {before.get(name)} → {after.get(name)}"
        for name in sorted(set(before) | set(after))
        if name not in {"modalities", "exclusions"} and before.get(name) != after.get(name)
    ]
    for group in ("modalities", "exclusions"):
        old = {item["code"]: item for item in before.get(group, [])}
        new = {item["code"]: item for item in after.get(group, [])}
        for code in sorted(set(old) | set(new)):
            if code not in old:
                changes.append(f"{group[:-1]} {code} added")
            elif code not in new:
                changes.append(f"{group[:-1]} {code} removed")
            else:
                changes += [
                    f"{new[code].get('name', code)} {field}: {old[code].get(field)} → {value}"
                    for field, value in new[code].items()
                    if old[code].get(field) != value
                ]
    return changes
