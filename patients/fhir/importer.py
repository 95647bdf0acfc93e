"""Import a FHIR R4 Bundle (or single resource) from an EHR feed, all or nothing.

Phase one reads and checks everything and writes nothing: JSON, the Bundle,
each supported resource against the R4 model (fhir.resources' R4B classes, which
R4 content validates under), identities, and every reference to a patient.
Any error raises FhirImportError with an OperationOutcome issue per problem.
Phase two writes everything in one transaction, in a number of queries that
does not grow with the number of clinical resources in the bundle.

The phases: `parse` (bytes, Bundle, entries), `validate` (each resource, codes,
references; `bundle_read` is phase one), `identity` (feed ids, patient references,
matching feed Patients to ours) and `write` (phase two).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from navigator.models import User
from patients.fhir.outcome import NOT_A_FEED, FhirImportError, issue
from patients.fhir.validate import bundle_read
from patients.fhir.write import FhirImportResult, import_write
from patients.models import FhirSource


def fhir_import(
    *, source: FhirSource, payload: bytes, origin: str, actor: User | None
) -> FhirImportResult:
    """Import one bundle (or resource) from a feed; all or nothing, idempotent.

    Raises FhirImportError (nothing written) when the input cannot be imported.
    The same bundle again writes nothing at all, not even an import record.
    A clinic's staff-entry source is not a feed: nothing is imported into it.
    """
    if source.is_staff_entry:
        raise FhirImportError([issue(NOT_A_FEED.format(key=source.key), "source")])
    patient_items, clinical_items, skipped, warnings = bundle_read(source, payload)
    now = timezone.now()
    for attempt in (1, 2):
        result = FhirImportResult(skipped=dict(skipped), warnings=list(warnings))
        try:
            import_write(source, patient_items, clinical_items, result, now, actor, origin)
        except ValidationError as error:
            raise FhirImportError(
                [
                    issue(f"{name}: {'; '.join(messages)}")
                    for name, messages in error.message_dict.items()
                ]
                if hasattr(error, "error_dict")
                else [issue("; ".join(error.messages))]
            ) from None
        except IntegrityError:
            # Another import created the same patient or resource a moment ago: the
            # second attempt sees it and updates (or leaves) it instead.
            if attempt == 1:
                continue
            raise FhirImportError(
                [
                    issue(
                        "Another import changed these records at the same time; send it again.",
                        code="conflict",
                    )
                ]
            ) from None
        break
    return result
