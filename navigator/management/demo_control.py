"""Four of María's diabetes patients for the worklist's control reasons (used by the
seed_demo command): a coaching session missed last week, the last HbA1c in poor
control, the HbA1c overdue, and the last one above target (navigator/worklist/
control_rules.py), so that the demo's worklist shows each whatever the random mix
gave her.

Each is referred and assigned through the services, called once (no case is new),
and its clinic's labs are on record as the EHR feed would have stored them (HbA1c
Observations and the diabetes Condition), read by the care-gap engine. The missed
session is written as the coaching service would have left it (booked, then marked
missed once it had begun: the service books only ahead).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from navigator.models import (
    CoachingSession,
    CoachingSessionStatus,
    NavigationCase,
    SelfCareBehaviour,
    User,
)
from navigator.services import follow_up
from outreach.models import Outcome
from outreach.services.attempts import attempt_log
from patients.models import Clinic, ClinicalResource, FhirSource, ScreeningProgram
from patients.services.care_gaps import care_gaps_recompute

FEED = "demo-clinic-labs"
LOINC_HBA1C = ("http://loinc.org", "4548-4", "Hemoglobin A1c/Hemoglobin.total")


def _coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _store(case: NavigationCase, resource: dict[str, Any], source: FhirSource) -> None:
    text = json.dumps(resource, sort_keys=True)
    ClinicalResource.objects.create(
        patient_id=case.patient_id,
        source=source,
        resource_type=resource["resourceType"],
        resource_id=resource["id"],
        resource=resource,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def _labs(case: NavigationCase, labs: list[tuple[dt.date, float]], source: FhirSource) -> None:
    """The diabetes Condition and each HbA1c (day, value in %), as the feed stores them."""
    _store(
        case,
        {
            "resourceType": "Condition",
            "id": f"demo-dm-{case.pk}",
            "clinicalStatus": _coded(
                "http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"
            ),
            "code": _coded(
                "http://hl7.org/fhir/sid/icd-10-cm", "E11.9", "Type 2 diabetes mellitus"
            ),
            "onsetDateTime": "2019-03-01",
        },
        source,
    )
    for number, (day, value) in enumerate(labs):
        _store(
            case,
            {
                "resourceType": "Observation",
                "id": f"demo-a1c-{case.pk}-{number}",
                "status": "final",
                "category": [
                    _coded(
                        "http://terminology.hl7.org/CodeSystem/observation-category",
                        "laboratory",
                        "Laboratory",
                    )
                ],
                "code": _coded(*LOINC_HBA1C),
                "effectiveDateTime": day.isoformat(),
                "valueQuantity": {
                    "value": value,
                    "unit": "%",
                    "system": "http://unitsofmeasure.org",
                    "code": "%",
                },
            },
            source,
        )


def control_reasons(
    *,
    referred: Callable[..., NavigationCase],
    clinic: Clinic,
    diabetes: ScreeningProgram,
    maria: User,
    today: dt.date,
    first_index: int,
) -> None:
    """María's four diabetes cases, each topped by one control reason; `referred(index,
    program)` refers and assigns a patient to her (seed_demo's)."""
    source, _ = FhirSource.objects.get_or_create(
        key=FEED,
        defaults={"name": "Demo clinic labs (FHIR)", "clinic": clinic},
    )
    year_start = dt.date(today.year, 1, 1)

    def this_year(days_ago: int) -> dt.date:
        return max(today - dt.timedelta(days=days_ago), year_start)

    now = timezone.now()
    profiles = {
        # Poor control: 9.8 % last month (CMS122's numerator).
        "poor_control": [(today - dt.timedelta(days=400), 8.9), (this_year(30), 9.8)],
        # At target 7 months ago: the next one was due a month ago.
        "lab_overdue": [(today - dt.timedelta(days=210), 7.1)],
        # Above target (8.6 %) three weeks ago.
        "above_target": [(today - dt.timedelta(days=300), 7.6), (this_year(21), 8.6)],
        # At target this month, but the coaching session last week was missed.
        "session_missed": [(this_year(10), 7.2)],
    }
    for offset, (kind, labs) in enumerate(profiles.items()):
        case = referred(first_index + offset, diabetes)
        _labs(case, labs, source)
        care_gaps_recompute(patient_ids=[case.patient_id], as_of=today)
        attempt_log(case=case, channel="phone", outcome=Outcome.REACHED, actor=maria,
                    attempted_at=now - dt.timedelta(days=12))  # fmt: skip
        follow_up.case_set_follow_up(case=case, on=today + dt.timedelta(days=10), actor=maria)
        if kind == "session_missed":
            CoachingSession.objects.create(
                case=case,
                patient_id=case.patient_id,
                coach=maria,
                scheduled_at=now - dt.timedelta(days=6),
                status=CoachingSessionStatus.MISSED,
                topics=[SelfCareBehaviour.HEALTHY_EATING, SelfCareBehaviour.MONITORING],
                language="es",
                created_by=maria,
                created_at=now - dt.timedelta(days=12),
            )
