"""Import a clinic's referral CSV from the command line, by the upload's own path.

    manage.py import_referrals <clinic code> <file.csv> --mode good_rows --as <username>

The file is checked and stored as a job exactly as the page and the API do
(`referral_import_start`), then imported here, in this process, batch by batch
(`referral_import_run`), unless `--queue` leaves it to a worker. Prints the job's
counts and each row not imported (line, column, reason); exit status 1 when the job
failed or the file was refused. Output carries ids and counts, and the file's own
line numbers and reasons, never a patient's details beyond what the reasons quote.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from navigator.intake.referral_import import referral_import_run, referral_import_start
from navigator.models import User
from patients.models import Clinic, ReferralUpload
from patients.uploads.parse import MAX_BYTES, UploadRejected


class Command(BaseCommand):
    help = (
        "Import a CSV of referrals for a clinic, as a user, by the path the upload page "
        "uses: checked, stored as a job, then imported in batches (here, or by a worker "
        "with --queue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("clinic", help="The clinic's code.")
        parser.add_argument("file", help="The CSV file (UTF-8, the template's columns).")
        parser.add_argument(
            "--mode",
            choices=ReferralUpload.Mode.values,
            default=ReferralUpload.Mode.ALL_OR_NOTHING,
            help="all_or_nothing (default): nothing if any row is bad; good_rows: the good rows.",
        )
        parser.add_argument(
            "--as", dest="username", required=True, help="Who uploads (recorded as the actor)."
        )
        parser.add_argument(
            "--queue", action="store_true", help="Leave the import to a Celery worker."
        )

    def handle(self, *args, **options) -> None:
        clinic = Clinic.objects.filter(code=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic has the code “{options['clinic']}”.")
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user is called “{options['username']}”.")
        path = Path(options["file"])
        try:
            with path.open("rb") as handle:
                content = handle.read(MAX_BYTES + 1)
        except OSError as error:
            raise CommandError(f"{path} cannot be read ({error.strerror or error}).") from None
        try:
            upload = referral_import_start(
                clinic=clinic,
                actor=actor,
                file_bytes=content,
                filename=path.name,
                mode=options["mode"],
                enqueue=options["queue"],
            )
        except UploadRejected as rejected:
            self._errors(rejected.as_dict()["errors"])
            raise CommandError(rejected.detail) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if options["queue"]:
            self.stdout.write(f"Upload {upload.pk} queued: {upload.row_count} rows.")
            return
        referral_import_run(upload_id=upload.pk)
        upload.refresh_from_db()
        self.stdout.write(
            f"Upload {upload.pk} {upload.status}: {upload.row_count} rows, "
            f"{upload.created_count} imported, {upload.duplicate_count} duplicates, "
            f"{len(upload.errors)} problems."
        )
        self._errors(upload.errors)
        if upload.status == ReferralUpload.Status.FAILED:
            raise CommandError(upload.detail)

    def _errors(self, errors: list[dict]) -> None:
        for error in errors:
            line = error["line"] if error["line"] is not None else "-"
            column = error["column"] or "-"
            self.stderr.write(f"  line {line}, {column}: {error['message']}")
