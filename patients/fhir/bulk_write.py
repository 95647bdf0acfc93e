"""FHIR Bulk Data, writing one batch: set-based, in a number of queries that does not grow
with the batch.

The same records as a bundle import (`write.py`, `identity.py`): a new feed Patient whose
MRN nobody has becomes a new patient (bulk inserts of patients, links, phones and
race/ethnicity rows, exactly what `patient_link_or_create` writes for one); a changed
linked Patient, or one whose MRN is taken (a link to an existing patient or a
data-quality warning), goes through `patient_link_or_create` itself, one by one. Every
resource (the Patient resource included) is upserted on (source, type, id), skipped when
its content hash is unchanged; on PostgreSQL in one statement fed by a single jsonb
document (`_resources_upsert_pg`), elsewhere by `bulk_create`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from config.any_of import among
from patients.fhir.bulk_insert import instances_insert, rows_insert
from patients.fhir.bulk_read import LineRejection
from patients.fhir.identity import demographics_apply, patient_link_or_create
from patients.fhir.outcome import Issue
from patients.fhir.parse import BundleItem
from patients.models import (
    ClinicalResource,
    DataQualityWarning,
    FhirImport,
    FhirSource,
    Patient,
    PatientPhone,
    PatientSourceLink,
)
from patients.mrn import mrn_key, mrn_normalise
from patients.services.patients import (
    new_patient_race_prepare,
    new_patients_race_rows_create,
    patients_cleaner,
)

# Rows per INSERT: 8 columns × 5,000 stays under PostgreSQL's 65,535 parameters.
UPSERT_ROWS = 5000
UPSERT_COLUMNS = (
    "patient", "source", "resource_type", "resource_id", "resource", "content_hash",
    "imported_at", "updated_at",
)  # fmt: skip

# The mapping's phone numbers are the E.164 of valid numbers (`patients.phones.phone_e164`):
# what the number field stores for them when it stores E.164, so its second parse (~0.07 ms
# a number) is skipped; tests/patients/test_phones.py holds it for every region's example
# numbers.
PHONES_PREPARED = (
    ("number",) if getattr(settings, "PHONENUMBER_DB_FORMAT", "E164") == "E164" else ()
)


@dataclass
class BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[Issue] = field(default_factory=list)
    rejections: list[LineRejection] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)


def batch_write(
    *,
    source: FhirSource,
    items: list[tuple[int, BundleItem]],
    now: dt.datetime,
    fhir_import: FhirImport | None,
) -> BatchOutcome:
    """Write one batch of one resource type ((line number, item) pairs); call in a transaction."""
    outcome = BatchOutcome()
    created: set[int] = set()
    items = _without_repeats(items, outcome)
    if not items:
        return outcome
    if items[0][1].resource_type == "Patient":
        patient_by_ref = _patients_write(source, items, outcome, now, fhir_import, created)
        resources = [
            (line, BundleItem(i.expression, "Patient", i.resource_id, i.resource, i.content_hash,
                              patient_ref=i.resource_id))
            for line, i in items
            if i.resource_id in patient_by_ref
        ]  # fmt: skip
    else:
        refs = {item.patient_ref for _, item in items}
        patient_by_ref = dict(
            PatientSourceLink.objects.filter(among("resource_id", refs), source=source).values_list(
                "resource_id", "patient_id"
            )
        )
        resources = []
        for line, item in items:
            if item.patient_ref in patient_by_ref:
                resources.append((line, item))
            else:
                outcome.rejections.append(
                    LineRejection(
                        line,
                        f"Patient/{item.patient_ref} is not known from feed “{source.key}” "
                        "(its Patient line is missing or was rejected).",
                    )
                )
    _resources_write(source, resources, patient_by_ref, outcome, now)
    if outcome.touched - created:
        Patient.objects.filter(among("pk", outcome.touched - created)).update(
            clinical_data_changed_at=now
        )
    return outcome


def _without_repeats(
    items: list[tuple[int, BundleItem]], outcome: BatchOutcome
) -> list[tuple[int, BundleItem]]:
    seen: set[str] = set()
    kept = []
    for line, item in items:
        if item.resource_id in seen:
            outcome.rejections.append(
                LineRejection(
                    line, f"{item.resource_type}/{item.resource_id} appears twice in the batch."
                )
            )
            continue
        seen.add(item.resource_id)
        kept.append((line, item))
    return kept


def _patients_write(
    source: FhirSource,
    items: list[tuple[int, BundleItem]],
    outcome: BatchOutcome,
    now: dt.datetime,
    fhir_import: FhirImport | None,
    created: set[int],
) -> dict[str, int]:
    """Feed Patient id → our patient's pk, for every Patient of the batch written or unchanged."""
    links = {
        link.resource_id: link
        for link in PatientSourceLink.objects.filter(
            among("resource_id", [item.resource_id for _, item in items]), source=source
        ).only("resource_id", "patient_id", "content_hash")
    }
    patient_by_ref: dict[str, int] = {}
    one_by_one: list[tuple[int, BundleItem]] = []
    new: list[tuple[int, BundleItem, str]] = []
    for line, item in items:
        link = links.get(item.resource_id)
        if link is not None and link.content_hash == item.content_hash:
            patient_by_ref[item.resource_id] = link.patient_id
        elif link is not None:
            one_by_one.append((line, item))
        elif item.mapped is not None:  # always, for a line `line_read` accepted
            new.append((line, item, mrn_normalise(item.mapped.mrn(source.mrn_system))))
    mrns = {mrn for _, _, mrn in new if mrn}
    taken = (
        set(
            Patient.objects.annotate(key=mrn_key())
            .filter(among("key", mrns), clinic=source.clinic_id)
            .values_list("key", flat=True)
            .distinct()
        )
        if mrns
        else set()
    )
    patients: list[Patient] = []
    created_items: list[tuple[BundleItem, list[str]]] = []
    cleaner = patients_cleaner()  # the batch's: each field's answer once per value
    for line, item, mrn in new:
        if mrn and mrn in taken:
            # Somebody has this MRN (or another line of the batch does): link or warn,
            # exactly as a bundle would.
            one_by_one.append((line, item))
            continue
        if mrn:
            taken.add(mrn)
        mapped = item.mapped
        if mapped is None:
            continue
        # Their resources are written below: stamped now, not by a second UPDATE.
        patient = Patient(clinic_id=source.clinic_id, mrn=mrn, clinical_data_changed_at=now)
        demographics_apply(patient, mapped)
        categories: list[str] = []
        try:
            if mapped.race_ethnicity:
                categories = new_patient_race_prepare(
                    patient=patient, categories=mapped.race_ethnicity
                )
            # full_clean(exclude=["clinic"], validate_unique=False,
            # validate_constraints=False), each field's answer remembered per value for
            # the batch (as the referral import checks its new patients): the clinic is
            # the feed's (no query to check it); uniqueness is the MRN check above and
            # the database's.
            cleaner.full_clean(patient)
        except ValidationError as error:
            outcome.rejections.append(LineRejection(line, "; ".join(error.messages)[:500]))
            continue
        patients.append(patient)
        created_items.append((item, categories))
    _new_patients_insert(source, patients, [item for item, _ in created_items], now)
    for patient, (item, _) in zip(patients, created_items, strict=True):
        patient_by_ref[item.resource_id] = patient.pk
        outcome.touched.add(patient.pk)
        created.add(patient.pk)
    new_patients_race_rows_create(
        answers=[
            (patient, categories)
            for patient, (_, categories) in zip(patients, created_items, strict=True)
        ]
    )

    conflicts: list[tuple[Patient, Patient, str]] = []
    if one_by_one:
        full_links = {
            link.resource_id: link
            for link in PatientSourceLink.objects.select_related("patient").filter(
                source=source, resource_id__in=[item.resource_id for _, item in one_by_one]
            )
        }
        for line, item in one_by_one:
            try:
                patient, result = patient_link_or_create(
                    source, item, full_links.get(item.resource_id), outcome.warnings, conflicts
                )
            except ValidationError as error:
                outcome.rejections.append(LineRejection(line, "; ".join(error.messages)[:500]))
                continue
            patient_by_ref[item.resource_id] = patient.pk
            if result != "unchanged":
                outcome.touched.add(patient.pk)
    if conflicts:
        DataQualityWarning.objects.bulk_create(
            [
                DataQualityWarning(
                    source=source,
                    fhir_import=fhir_import,
                    kind=DataQualityWarning.Kind.IDENTIFIER_CONFLICT,
                    message=message[:500],
                    patient=new_patient,
                    other_patient=existing,
                    created_at=now,
                )
                for new_patient, existing, message in conflicts
            ]  # fmt: skip
        )
    return patient_by_ref


def _new_patients_insert(
    source: FhirSource, patients: list[Patient], items: list[BundleItem], now: dt.datetime
) -> None:
    """The new patients (their pks set), their links to the feed and their phones: what
    `patient_link_or_create` writes for one, three INSERTs for the batch."""
    if connection.vendor == "postgresql":
        instances_insert(patients)
        rows_insert(
            PatientSourceLink,
            ["source", "resource_id", "patient", "content_hash", "linked_at"],
            [
                (source.pk, item.resource_id, patient.pk, item.content_hash, now)
                for patient, item in zip(patients, items, strict=True)
            ],
        )
        # The columns bulk_create would fill from the model's defaults.
        defaults = {f.name: f.get_default() for f in PatientPhone._meta.concrete_fields}
        phone_defaults = [defaults["is_bad"], defaults["undeliverable"]]
        rows_insert(
            PatientPhone,
            ["patient", "number", "kind", "rank", "is_bad", "undeliverable"],
            [
                (patient.pk, number, kind, rank, *phone_defaults)
                for patient, item in zip(patients, items, strict=True)
                for rank, (number, kind) in enumerate(item.mapped.phones if item.mapped else [])
            ],
            prepared=PHONES_PREPARED,
        )
        return
    Patient.objects.bulk_create(patients)
    PatientSourceLink.objects.bulk_create(
        [
            PatientSourceLink(source=source, resource_id=item.resource_id, patient=patient,
                              content_hash=item.content_hash, linked_at=now)
            for patient, item in zip(patients, items, strict=True)
        ]
    )  # fmt: skip
    phones = [
        PatientPhone(patient=patient, number=number, kind=kind, rank=rank)
        for patient, item in zip(patients, items, strict=True)
        for rank, (number, kind) in enumerate(item.mapped.phones if item.mapped else [])
    ]
    if phones:
        PatientPhone.objects.bulk_create(phones)


def _resources_write(
    source: FhirSource,
    items: list[tuple[int, BundleItem]],
    patient_by_ref: dict[str, int],
    outcome: BatchOutcome,
    now: dt.datetime,
) -> None:
    if not items:
        return
    resource_type = items[0][1].resource_type
    existing = {
        resource_id: (content_hash, patient_id)
        for resource_id, content_hash, patient_id in ClinicalResource.objects.filter(
            among("resource_id", [item.resource_id for _, item in items]),
            source=source,
            resource_type=resource_type,
        ).values_list("resource_id", "content_hash", "patient_id")
    }
    rows: list[tuple[int, BundleItem]] = []
    for _line, item in items:
        patient_id = patient_by_ref[item.patient_ref]
        before = existing.get(item.resource_id)
        if before is None:
            outcome.created += 1
        elif before == (item.content_hash, patient_id):
            outcome.unchanged += 1
            continue
        else:
            outcome.updated += 1
            if before[1] != patient_id:
                outcome.touched.add(before[1])
        outcome.touched.add(patient_id)
        rows.append((patient_id, item))
    if not rows:
        return
    if connection.vendor == "postgresql":
        _resources_upsert_pg(source, resource_type, rows, now)
        return
    # One upsert for new and changed rows alike; imported_at keeps its first value.
    ClinicalResource.objects.bulk_create(
        [
            ClinicalResource(
                patient_id=patient_id,
                source=source,
                resource_type=item.resource_type,
                resource_id=item.resource_id,
                resource=item.resource,
                content_hash=item.content_hash,
                imported_at=now,
                updated_at=now,
            )
            for patient_id, item in rows
        ],  # fmt: skip
        update_conflicts=True,
        unique_fields=["source", "resource_type", "resource_id"],
        update_fields=["patient", "resource", "content_hash", "updated_at"],
        batch_size=UPSERT_ROWS,
    )


def _resources_upsert_pg(
    source: FhirSource, resource_type: str, rows: list[tuple[int, BundleItem]], now: dt.datetime
) -> None:
    """The same upsert as `bulk_create(update_conflicts=...)` in one statement whose rows
    travel as a single jsonb document: bulk_create's per-value array quoting (a regex
    pass over every resource's text) and its model instances cost more than the
    database's whole insert. The same columns, the same values (the resource as
    JSONField stores it, `json.dumps`), the same ON CONFLICT and the same triggers."""
    document = json.dumps(
        [
            {"p": patient_id, "i": item.resource_id, "r": item.resource, "h": item.content_hash}
            for patient_id, item in rows
        ],
        separators=(",", ":"),
    )
    meta = ClinicalResource._meta
    column = {field.name: field.column for field in meta.concrete_fields}
    table = meta.db_table
    patient, source_id, kind, resource_id, resource, content_hash, imported, updated = (
        column[name] for name in UPSERT_COLUMNS
    )
    sql = (
        f'INSERT INTO "{table}" ("{patient}", "{source_id}", "{kind}", "{resource_id}", '  # noqa: S608 - names from the model, values bound
        f'"{resource}", "{content_hash}", "{imported}", "{updated}") '
        "SELECT r.p, %s, %s, r.i, r.r, r.h, %s, %s "
        "FROM jsonb_to_recordset(%s::jsonb) AS r(p bigint, i text, r jsonb, h text) "
        f'ON CONFLICT ("{source_id}", "{kind}", "{resource_id}") DO UPDATE SET '
        f'"{patient}" = EXCLUDED."{patient}", "{resource}" = EXCLUDED."{resource}", '
        f'"{content_hash}" = EXCLUDED."{content_hash}", "{updated}" = EXCLUDED."{updated}"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [source.pk, resource_type, now, now, document])
