"""Print a CMS measure report for the patients known from EHR feeds, as JSON."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients import selectors
from patients.caregaps.measures.registry import MEASURES
from patients.caregaps.measures.reports import measure_report


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: “{value}” is not a date in YYYY-MM-DD form.") from None


class Command(BaseCommand):
    help = (
        "Evaluate CMS130, CMS125, CMS124 or CMS122 over the patients known from EHR feeds "
        "and print each patient's populations and the summary as one JSON object."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--measure", required=True, choices=sorted(MEASURES))
        parser.add_argument("--period-start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--period-end", required=True, help="YYYY-MM-DD")
        parser.add_argument("--format", default="json", choices=["json", "fhir"])
        parser.add_argument("--source", help="Only the patients of this feed (its key).")

    def handle(self, *args, **options) -> None:
        start = _date(options["period_start"], "--period-start")
        end = _date(options["period_end"], "--period-end")
        if end < start:
            raise CommandError("--period-end is before --period-start.")
        source = None
        if options["source"]:
            source = selectors.fhir_source_by_key(options["source"])
            if source is None:
                known = ", ".join(selectors.fhir_feed_keys()) or "none"
                missing = selectors.fhir_feed_missing(options["source"])
                raise CommandError(f"{missing} Known feeds: {known}.")
        report = measure_report(
            measure_id=options["measure"], period_start=start, period_end=end, source=source
        )
        document = report.as_json() if options["format"] == "json" else report.as_fhir()
        self.stdout.write(json.dumps(document, indent=2))
