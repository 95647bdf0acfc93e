"""Import FHIR R4 bundles (or single resources) from files or folders of an EHR feed."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients.fhir.importer import fhir_import
from patients.fhir.outcome import FhirImportError
from patients.models import Clinic, FhirSource


class Command(BaseCommand):
    help = (
        "Import FHIR R4 JSON files (each a Bundle or a single resource; folders are read "
        "recursively for *.json) from one EHR feed. Each file is imported all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--source", required=True, help="The feed's key, e.g. epic-main.")
        parser.add_argument("--clinic", help="Create the feed for this clinic (its code).")
        parser.add_argument("--source-name", help="Name of a feed created with --clinic.")

    def handle(self, *args, **options) -> None:
        source = self._source(options)
        files: list[Path] = []
        for raw in options["paths"]:
            path = Path(raw)
            if path.is_dir():
                files += sorted(p for p in path.rglob("*.json") if p.is_file())
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{raw}: no such file or folder.")
        failed = 0
        for path in files:
            try:
                result = fhir_import(
                    source=source, payload=path.read_bytes(), origin=path.name, actor=None
                )
            except FhirImportError as error:
                failed += 1
                self.stderr.write(f"{path}: not imported")
                for problem in error.issues:
                    where = ", ".join(problem.get("expression", []))
                    self.stderr.write(
                        f"  {problem['diagnostics']}" + (f" [{where}]" if where else "")
                    )
                continue
            self.stdout.write(f"{path}: {result.summary()}")
            for warning in result.warnings:
                where = ", ".join(warning.get("expression", []))
                self.stdout.write(f"  warning: {warning['diagnostics']} [{where}]")
        self.stdout.write(f"{len(files) - failed} of {len(files)} file(s) imported.")
        if failed:
            raise CommandError(f"{failed} file(s) were not imported; nothing of them was written.")

    def _source(self, options) -> FhirSource:
        source = FhirSource.objects.filter(key=options["source"]).first()
        if source is not None:
            return source
        if not options["clinic"]:
            known = ", ".join(FhirSource.objects.values_list("key", flat=True)) or "none yet"
            raise CommandError(
                f"No feed “{options['source']}” (known: {known}). Give --clinic CODE to create it."
            )
        clinic = Clinic.objects.filter(code=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with code “{options['clinic']}”.")
        return FhirSource.objects.create(
            key=options["source"], name=options["source_name"] or options["source"], clinic=clinic
        )
