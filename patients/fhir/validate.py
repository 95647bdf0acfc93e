"""Phase one, checking: each resource against the FHIR R4 model, ids, codes and references.

`bundle_read` reads and checks everything and writes nothing; any error raises
FhirImportError with an OperationOutcome issue per problem.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from fhir.resources import get_fhir_model_class as r5_model_class
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource as R4BResource
from fhir.resources.resource import Resource as R5Resource
from pydantic import ValidationError as PydanticValidationError

from patients.caregaps.codes import KNOWN_SYSTEMS, normalise_system
from patients.fhir.identity import REFERENCE, patient_references_resolve, resource_identity
from patients.fhir.outcome import FhirImportError, Issue, issue
from patients.fhir.parse import (
    CLINICAL_TYPES,
    BundleItem,
    bundle_entries,
    payload_parse,
    resource_digest,
)
from patients.fhir.patient_mapping import map_patient
from patients.models import FhirSource

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

# Systems that describe the record rather than the clinical fact: no warning.
QUIET_SYSTEMS = ("http://terminology.hl7.org/", "urn:oid:2.16.840.1.113883.6.238", "urn:ietf:")
# R4 resource types that R4B (whose models validate R4 content) no longer has.
R4_ONLY_TYPES = frozenset(
    {
        "EffectEvidenceSynthesis", "RiskEvidenceSynthesis", "MedicinalProduct",
        "MedicinalProductAuthorization", "MedicinalProductContraindication",
        "MedicinalProductIndication", "MedicinalProductIngredient",
        "MedicinalProductInteraction", "MedicinalProductManufactured",
        "MedicinalProductPackaged", "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect", "SubstanceSpecification",
    }
)  # fmt: skip


def _loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def problem_message(problem: Mapping[str, Any]) -> str:
    """pydantic's message for one problem, in words about FHIR (never the value sent)."""
    kind = problem.get("type", "")
    if kind in {"json_invalid", "model_type", "model_attributes_type", "dict_type"}:
        return "Expected a JSON object (a FHIR element) here."
    if kind == "list_type":
        return "Expected a JSON array here."
    if kind == "extra_forbidden":
        return "Not an element of this resource in FHIR R4."
    text = str(problem.get("msg", ""))
    if "does not match spec regex" in text:
        # fhir.resources: "Date value string does not match spec regex."
        name = text.removeprefix("Value error, ").split(" value string")[0]
        return FORMATS.get(name, f"Not a valid FHIR {name[:1].lower()}{name[1:]}.")
    return f"{str(problem['msg']).removeprefix('Value error, ').rstrip('.')}."


FORMATS = {
    "Date": "Not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD).",
    "DateTime": "Not a valid FHIR dateTime (e.g. 2025-03-02 or 2025-03-02T09:30:00-05:00).",
    "Instant": "Not a valid FHIR instant (e.g. 2025-03-02T09:30:00Z).",
    "Time": "Not a valid FHIR time (hh:mm:ss).",
}


@lru_cache(maxsize=512)
def is_resource_type(name: str) -> bool:
    """Whether `name` is a FHIR resource type (R4, R4B or R5), not a data type or a typo."""
    if name in R4_ONLY_TYPES:
        return True
    for lookup, base in ((get_fhir_model_class, R4BResource), (r5_model_class, R5Resource)):
        try:
            model = lookup(name)
        except (ValueError, KeyError, AttributeError, ImportError):
            continue
        if isinstance(model, type) and issubclass(model, base):
            return True
    return False


def _main_codings(resource: dict[str, Any]) -> list[tuple[str, Any]]:
    """(path, coding) for the codes the engine matches a resource by (fhirdata.primary_code)."""
    resource_type = resource.get("resourceType")
    found: list[tuple[str, Any]] = []

    def add(path: str, concept: Any) -> None:
        if isinstance(concept, dict) and isinstance(concept.get("coding"), list):
            found.extend((f"{path}.coding[{i}]", c) for i, c in enumerate(concept["coding"]))

    if resource_type == "Encounter":
        for index, concept in enumerate(resource.get("type") or []):
            add(f"type[{index}]", concept)
    elif resource_type == "DeviceRequest":
        add("codeCodeableConcept", resource.get("codeCodeableConcept"))
    elif resource_type == "MedicationRequest":
        if "medicationCodeableConcept" in resource:
            add("medicationCodeableConcept", resource["medicationCodeableConcept"])
        reference = str((resource.get("medicationReference") or {}).get("reference") or "")
        for index, contained in enumerate(resource.get("contained") or []):
            if reference.startswith("#") and contained.get("id") == reference[1:]:
                add(f"contained[{index}].code", contained.get("code"))
    elif resource_type != "Coverage":
        add("code", resource.get("code"))
    return found


def check_codes(resource: dict[str, Any], where: str) -> list[Issue]:
    warnings = []
    for path, coding in _main_codings(resource):
        system = coding.get("system") if isinstance(coding, dict) else None
        if not system:
            warnings.append(
                issue(
                    "A code has no system; it is kept but can never match.",
                    f"{where}.{path}",
                    severity="warning",
                    code="code-invalid",
                )
            )
        elif normalise_system(system) not in KNOWN_SYSTEMS and not system.startswith(QUIET_SYSTEMS):
            warnings.append(
                issue(
                    f"Code system “{system}” is not one the engine knows; "
                    "the code is kept but never matched.",
                    f"{where}.{path}",
                    severity="warning",
                    code="code-invalid",
                )
            )
    return warnings


def bundle_read(
    source: FhirSource, payload: bytes
) -> tuple[list[BundleItem], list[BundleItem], Counter[str], list[Issue]]:
    """Phase one: everything checked, nothing written."""
    entries, bundle_type = bundle_entries(payload_parse(payload))
    errors: list[Issue] = []
    warnings: list[Issue] = []
    skipped: Counter[str] = Counter()
    patients: list[BundleItem] = []
    clinical: list[BundleItem] = []
    full_urls: dict[str, tuple[str, str]] = {}
    seen: set[tuple[str, str]] = set()
    unreadable_patients: set[str] = set()

    def unreadable(entry: dict[str, Any], resource_id: str, where: str) -> None:
        # A Patient already reported: references to it are not errors of their own.
        resource_id = resource_id or f"#{where}"
        unreadable_patients.add(resource_id)
        if entry.get("fullUrl"):
            full_urls.setdefault(str(entry["fullUrl"]), ("Patient", resource_id))

    for where, entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            errors.append(issue("The entry has no resource.", f"{where}.resource"))
            continue
        resource_type = resource["resourceType"]
        expression = f"{where}.resource" if bundle_type else where
        if resource_type != "Patient" and resource_type not in CLINICAL_TYPES:
            if is_resource_type(resource_type):
                skipped[resource_type] += 1
            else:
                errors.append(
                    issue(
                        f"“{resource_type[:64]}” is not a FHIR resource type.",
                        f"{expression}.resourceType",
                        code="not-supported",
                    )
                )
            continue
        try:
            get_fhir_model_class(resource_type).model_validate(resource)
        except PydanticValidationError as error:
            for detail in error.errors()[:20]:
                errors.append(issue(problem_message(detail), f"{expression}{_loc(detail['loc'])}"))
            if resource_type == "Patient":
                unreadable(entry, resource_identity(entry, resource, bundle_type, where)[0], where)
            continue
        resource_id, problem = resource_identity(entry, resource, bundle_type, where)
        if problem is not None:
            errors.append(problem)
            if resource_type == "Patient":
                unreadable(entry, resource_id, where)
            continue
        if not FHIR_ID.match(resource_id):
            errors.append(
                issue(f"“{resource_id[:80]}” is not a valid FHIR id.", f"{expression}.id")
            )
            continue
        if (resource_type, resource_id) in seen:
            errors.append(
                issue(
                    f"{resource_type}/{resource_id} appears twice in the bundle.",
                    expression,
                    code="duplicate",
                )
            )
            continue
        seen.add((resource_type, resource_id))
        full_url = str(entry.get("fullUrl") or "")
        if full_url:
            full_urls[full_url] = (resource_type, resource_id)
            # A relative reference resolves against the fullUrl's base (FHIR 2.36.4.1).
            tail = REFERENCE.search(full_url)
            if tail and full_url.startswith(("http://", "https://")):
                full_urls.setdefault(
                    f"{tail.group(1)}/{tail.group(2)}", (resource_type, resource_id)
                )
        item = BundleItem(
            expression, resource_type, resource_id, resource, resource_digest(resource)
        )
        if resource_type == "Patient":
            mapped, problems = map_patient(resource, expression)
            errors += [p for p in problems if p["severity"] == "error"]
            warnings += [p for p in problems if p["severity"] != "error"]
            item.mapped = mapped
            patients.append(item)
        else:
            warnings += check_codes(resource, expression)
            clinical.append(item)

    # References to the patient: within the bundle, or already known in this feed.
    reference_errors, reference_warnings = patient_references_resolve(
        source=source,
        patients=patients,
        clinical=clinical,
        full_urls=full_urls,
        unreadable_patients=unreadable_patients,
    )
    errors += reference_errors
    warnings += reference_warnings
    if errors:
        raise FhirImportError(errors)
    return patients, clinical, skipped, warnings
