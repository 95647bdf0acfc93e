"""Phase one, reading: bytes to JSON, the Bundle to its entries, each entry to a `BundleItem`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from patients.fhir.outcome import FhirImportError, issue
from patients.fhir.patient_mapping import MappedPatient

CLINICAL_TYPES = {
    "Encounter": "subject",
    "Procedure": "subject",
    "Observation": "subject",
    "Condition": "subject",
    "ServiceRequest": "subject",
    "DeviceRequest": "subject",
    "MedicationRequest": "subject",
    "Coverage": "beneficiary",
}
BUNDLE_TYPES = {"transaction", "batch", "collection"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass
class BundleItem:
    """One resource of the bundle, read and checked, as phase two writes it."""

    expression: str
    resource_type: str
    resource_id: str
    resource: dict[str, Any]
    content_hash: str
    patient_ref: str = ""  # clinical resources: the patient's id in this feed
    mapped: MappedPatient | None = None


def resource_digest(resource: dict[str, Any]) -> str:
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def payload_parse(payload: bytes) -> Any:
    if not payload.strip():
        raise FhirImportError([issue("The input is empty.", code="structure")])
    if len(payload) > MAX_BYTES:
        raise FhirImportError(
            [issue(f"The input is over {MAX_BYTES // (1024 * 1024)} MB.", code="too-costly")]
        )
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FhirImportError(
            [issue(f"The input is not UTF-8 (byte {error.start}).", code="structure")]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        truncated = error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated")
        ending = "; is the file truncated?" if truncated else ""
        raise FhirImportError(
            [
                issue(
                    f"Not valid JSON at line {error.lineno}, column {error.colno} "
                    f"({error.msg.removesuffix(' starting at')}){ending}",
                    code="structure",
                )
            ]
        ) from None
    except RecursionError:
        raise FhirImportError([issue("The JSON is nested too deeply.", code="structure")]) from None


def bundle_entries(document: Any) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """(expression, entry) pairs and the Bundle type ("" for a single resource)."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise FhirImportError(
            [
                issue(
                    "Expected a FHIR resource: a JSON object with a resourceType.", code="structure"
                )
            ]
        )
    if document["resourceType"] != "Bundle":
        return [(document["resourceType"], {"resource": document})], ""
    bundle_type = document.get("type")
    if bundle_type not in BUNDLE_TYPES:
        said = f"Bundle.type “{bundle_type}”" if bundle_type else "A Bundle without a type"
        raise FhirImportError(
            [
                issue(
                    f"{said} cannot be imported; use transaction, batch or collection.",
                    "Bundle.type",
                    code="not-supported" if bundle_type else "required",
                )
            ]
        )
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise FhirImportError([issue("Bundle.entry must be a list.", "Bundle.entry")])
    return [(f"Bundle.entry[{i}]", e) for i, e in enumerate(entries)], bundle_type
