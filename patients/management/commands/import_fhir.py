"""Import FHIR R4 bundles (or single resources) from files or folders of an EHR feed.

One line per file on stdout (counts, skipped types, warnings), the problems of
every file that could not be imported on stderr, and exit status 1 if any file
failed. Output carries ids and counts only, never a patient's details.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients import selectors
from patients.fhir.importer import fhir_import
from patients.fhir.outcome import FhirImportError, Issue, issue
from patients.fhir.parse import MAX_BYTES
from patients.models import Clinic, FhirSource

TOO_LARGE = f"The file is over {MAX_BYTES // (1024 * 1024)} MB."


def _line(problem: Issue) -> str:
    where = ", ".join(problem.get("expression", []))
    return f"{problem['diagnostics']}" + (f" [{where}]" if where else "")


class Command(BaseCommand):
    help = (
        "Import FHIR R4 JSON files (each a Bundle or a single resource; folders are read "
        "recursively for *.json) from one EHR feed. Each file is imported all or nothing; "
        "the good files are imported even when another fails (exit status 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files or folders.")
        parser.add_argument("--source", required=True, help="The feed's key, e.g. epic-main.")
        parser.add_argument(
            "--clinic", help="The feed's clinic (its code): creates the feed if it is new."
        )
        parser.add_argument("--source-name", help="Name of a feed created with --clinic.")

    def handle(self, *args, **options) -> None:
        files = self._files(options["paths"])
        source = self._source(options)
        failed = 0
        for path in files:
            try:
                if path.stat().st_size > MAX_BYTES:
                    raise FhirImportError([issue(TOO_LARGE, code="too-costly")])
                payload = path.read_bytes()
                result = fhir_import(source=source, payload=payload, origin=path.name, actor=None)
            except OSError as error:
                failed += 1
                self.stderr.write(f"{path}: not imported")
                self.stderr.write(f"  cannot be read ({error.strerror or error})")
                continue
            except FhirImportError as error:
                failed += 1
                self.stderr.write(f"{path}: not imported")
                for problem in error.issues:
                    self.stderr.write(f"  {_line(problem)}")
                continue
            self.stdout.write(f"{path}: {result.summary()}")
            for warning in result.warnings:
                self.stdout.write(f"  warning: {_line(warning)}")
        self.stdout.write(f"{len(files) - failed} of {len(files)} file(s) imported.")
        if failed:
            raise CommandError(f"{failed} file(s) were not imported; nothing of them was written.")

    @staticmethod
    def _files(paths: list[str]) -> list[Path]:
        files: list[Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                files += sorted(p for p in path.rglob("*.json") if p.is_file())
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{raw}: no such file or folder.")
        return files

    @staticmethod
    def _source(options) -> FhirSource:
        key = options["source"]
        source = selectors.fhir_source_by_key(key)
        if source is not None:
            if options["clinic"] and source.clinic.code != options["clinic"]:
                raise CommandError(
                    f"Feed “{key}” belongs to clinic “{source.clinic.code}”, "
                    f"not “{options['clinic']}”."
                )
            return source
        if FhirSource.objects.filter(key=key).exists():
            # A clinic's staff-entry source: not a feed, never imported into.
            raise CommandError(selectors.fhir_feed_missing(key))
        if not options["clinic"]:
            known = ", ".join(selectors.fhir_feed_keys()) or "none yet"
            raise CommandError(
                f"No feed “{key}” (known: {known}). Give --clinic CODE to create it."
            )
        clinic = Clinic.objects.filter(code=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with code “{options['clinic']}”.")
        source = FhirSource(key=key, name=options["source_name"] or key, clinic=clinic)
        try:
            source.full_clean()
        except ValidationError as error:
            raise CommandError(f"Cannot create feed “{key}”: {'; '.join(error.messages)}") from None
        source.save()
        return source
