"""Import a FHIR Bulk Data export (NDJSON per resource type) from one EHR feed.

    manage.py fhir_bulk_import <feed> <folder | $export manifest.json>
    manage.py fhir_bulk_import --restart <job id>

By default the batches go to the Celery workers of the `imports` queue and the
command prints the job's progress until it is done (`--no-wait`: print the job id
and return); `--inline` imports in this process, no worker needed. A restarted
job carries on from the batches it had not finished and imports nothing twice.
Output carries counts, file names and line numbers only, never a patient's details.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from navigator.intake.fhir_bulk import fhir_bulk_run_inline
from patients import selectors
from patients.fhir.bulk import (
    DEFAULT_BATCH,
    BatchDone,
    fhir_bulk_import_create,
    fhir_bulk_progress,
    fhir_bulk_restart,
)
from patients.fhir.bulk_read import BulkSourceError
from patients.models import FhirBulkImport, FhirBulkRejection

SHOWN_REJECTIONS = 50


class Command(BaseCommand):
    help = (
        "Import a FHIR Bulk Data export (a folder of NDJSON files, one per resource type, "
        "or the $export completion manifest) from one EHR feed, in batches; restartable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", nargs="?", help="The feed's key, e.g. epic-main.")
        parser.add_argument("location", nargs="?", help="Folder of *.ndjson, or manifest.json.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument(
            "--inline", action="store_true", help="Import in this process (no Celery worker)."
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="Queue the job and return at once."
        )
        parser.add_argument(
            "--restart", type=int, metavar="JOB", help="Carry on with a job that stopped."
        )

    def handle(self, *args, **options) -> None:
        if options["restart"] is not None:
            try:
                job = fhir_bulk_restart(job_id=options["restart"], queue=not options["inline"])
            except FhirBulkImport.DoesNotExist:
                raise CommandError(f"No bulk import #{options['restart']}.") from None
            self.stdout.write(f"Bulk import #{job.pk} restarted from its cursor ({job.status}).")
        else:
            job = self._create(options)
        if options["inline"]:
            fhir_bulk_run_inline(job_id=job.pk, on_batch=self._batch)
        elif options["no_wait"]:
            self.stdout.write(f"Bulk import #{job.pk} queued on the imports queue.")
            return
        else:
            self._wait(job.pk)
        self._report(FhirBulkImport.objects.get(pk=job.pk))

    def _create(self, options) -> FhirBulkImport:
        if not options["source"] or not options["location"]:
            raise CommandError("Give the feed and the folder or manifest (or --restart JOB).")
        if not 1 <= options["batch_size"] <= 10000:
            raise CommandError("--batch-size must be between 1 and 10,000 lines.")
        source = selectors.fhir_source_by_key(options["source"])
        if source is None:
            raise CommandError(selectors.fhir_feed_missing(options["source"]))
        try:
            job = fhir_bulk_import_create(
                source=source,
                location=Path(options["location"]),
                actor=None,
                batch_size=options["batch_size"],
                start=not options["inline"],
            )
        except BulkSourceError as error:
            raise CommandError(str(error)) from None
        batches = job.chunks.count()
        self.stdout.write(
            f"Bulk import #{job.pk}: {job.files.count()} file(s), {batches} batch(es) "
            f"of up to {job.batch_size} lines."
        )
        return job

    def _batch(self, done: BatchDone | int) -> None:
        if isinstance(done, BatchDone):
            self.stdout.write(
                f"  batch {done.chunk_id}: {done.lines} lines, {done.queries} queries"
            )
        else:
            self.stdout.write(f"  care gaps: {done} patients recomputed")

    def _wait(self, job_id: int) -> None:
        last = ""
        while True:
            job = FhirBulkImport.objects.get(pk=job_id)
            progress = fhir_bulk_progress(job)
            read = sum(f.lines_read for f in progress)
            total = sum(f.lines for f in progress)
            line = f"  {job.get_status_display()}: {read:,} of {total:,} lines read" + (
                f"; care gaps {job.care_gaps_recomputed:,} of {job.care_gap_patients:,}"
                if job.status == FhirBulkImport.Status.CARE_GAPS
                else ""
            )
            if line != last:
                self.stdout.write(line)
                last = line
            if job.status in {FhirBulkImport.Status.DONE, FhirBulkImport.Status.FAILED}:
                return
            time.sleep(1)

    def _report(self, job: FhirBulkImport) -> None:
        for file in fhir_bulk_progress(job):
            if file.skipped_reason:
                self.stdout.write(f"{file.path}: skipped. {file.skipped_reason}")
                continue
            self.stdout.write(
                f"{file.path} ({file.resource_type}): {file.lines_read:,} of {file.lines:,} "
                f"lines read; {file.created:,} created, {file.updated:,} updated, "
                f"{file.unchanged:,} unchanged, {file.rejected:,} rejected"
            )
        rejections = FhirBulkRejection.objects.filter(file__job=job).select_related("file")
        for rejection in rejections[:SHOWN_REJECTIONS]:
            name = Path(rejection.file.path).name
            self.stderr.write(f"  {name} line {rejection.line}: {rejection.reason}")
        rejected = rejections.count()
        if rejected > SHOWN_REJECTIONS:
            self.stderr.write(f"  ... and {rejected - SHOWN_REJECTIONS} more rejected lines.")
        if job.status == FhirBulkImport.Status.DONE:
            changed = "nothing new to write" if job.fhir_import_id is None else "imported"
            self.stdout.write(
                f"Bulk import #{job.pk} done ({changed}); care gaps recomputed for "
                f"{job.care_gaps_recomputed:,} patient(s)."
            )
        else:
            self.stdout.write(f"Bulk import #{job.pk}: {job.get_status_display()}.")
