"""Load official value sets (FHIR ValueSet resources with expansions), all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients.caregaps.valuesets import valuesets_load, valuesets_parse


def _read(paths: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The files named, a folder standing for every *.json directly in it."""
    documents: list[tuple[str, bytes]] = []
    errors: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.glob("*.json") if p.is_file())
            if not files:
                errors.append(f"{given}: the folder has no .json files.")
        elif path.exists():
            files = [path]
        else:
            errors.append(f"{given}: no such file or folder.")
            continue
        for file in files:
            try:
                documents.append((str(file), file.read_bytes()))
            except OSError as exc:
                errors.append(f"{file}: cannot be read ({exc.strerror or exc}).")
    return documents, errors


class Command(BaseCommand):
    help = (
        "Load FHIR ValueSet resources with their expansions (a Bundle or single resources, "
        "as VSAC and the eCQM packages ship them). A folder stands for every *.json in it. "
        "All files load in one transaction: if any is bad, nothing is loaded. Loading the "
        "same value sets again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="JSON file or folder")

    def handle(self, *args, **options) -> None:
        documents, errors = _read(options["files"])
        if errors:
            try:
                valuesets_parse(documents=documents)  # to report their problems too
            except ValidationError as exc:
                errors.extend(exc.messages)
            self._fail(errors)
        try:
            result = valuesets_load(documents=documents)
        except ValidationError as exc:
            self._fail(exc.messages)

        for outcome in result.value_sets:
            self.stdout.write(
                f"{outcome.status:<9}  {outcome.title} <{outcome.url}> "
                f"{outcome.code_count} code{'s' if outcome.code_count != 1 else ''}"
            )
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        total = len(result.value_sets)
        self.stdout.write(
            self.style.SUCCESS(
                f"{total} value set{'s' if total != 1 else ''}: {result.loaded} loaded, "
                f"{result.updated} updated, {result.unchanged} unchanged; "
                f"{result.codes_written} codes written, {result.codes_total} in all."
            )
        )

    def _fail(self, errors: list[str]) -> NoReturn:
        for message in errors:
            self.stderr.write(message)
        problems = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
        raise CommandError(f"Nothing was loaded: {problems} (listed above).")
