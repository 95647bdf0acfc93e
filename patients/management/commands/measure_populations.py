"""Compute and store population measures for the disparities dashboard."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients.caregaps.periods import Period, calendar_year, parse_period_label, quarter_periods
from patients.caregaps.population_measures import POPULATION_MEASURES
from patients.services.measure_populations import RefreshStats, population_measure_refresh


def _label(value: str, option: str) -> Period:
    try:
        return parse_period_label(value)
    except ValueError as error:
        raise CommandError(f"{option}: {error}") from None


class Command(BaseCommand):
    help = (
        "Compute population measures (CMS130, CMS125, CMS124, CMS122 over EHR patients; "
        "caregap:<program> over every patient) for every patient, for the rolling "
        "quarters --from … --to and/or calendar years, and list the periods as complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--measure",
            action="append",
            default=[],
            choices=sorted(POPULATION_MEASURES),
            help="A measure key; repeat for several.",
        )
        parser.add_argument("--all", action="store_true", help="Every population measure.")
        parser.add_argument("--from", dest="first", help="First rolling quarter, e.g. 2025Q1.")
        parser.add_argument("--to", dest="last", help="Last rolling quarter, e.g. 2026Q3.")
        parser.add_argument(
            "--calendar-year", action="append", type=int, default=[], help="e.g. 2025; repeat."
        )

    def handle(self, *args, **options) -> None:
        measures = sorted(POPULATION_MEASURES) if options["all"] else options["measure"]
        if not measures:
            raise CommandError("Name a measure with --measure, or use --all.")
        periods: list[Period] = []
        if options["first"] or options["last"]:
            if not (options["first"] and options["last"]):
                raise CommandError("--from and --to go together.")
            first = _label(options["first"], "--from")
            last = _label(options["last"], "--to")
            if " Q" not in first.label or " Q" not in last.label:
                raise CommandError("--from and --to name quarters, e.g. 2025Q1 and 2026Q3.")
            if last.end < first.end:
                raise CommandError("--to is before --from.")
            periods += quarter_periods(first.end, last.end)
        periods += [calendar_year(year) for year in options["calendar_year"]]
        if not periods:
            raise CommandError("Name periods with --from/--to or --calendar-year.")
        for measure in measures:
            try:
                stats = population_measure_refresh(measure=measure, periods=periods)
            except ValueError as error:
                raise CommandError(f"{measure}: {error}") from None
            self.stdout.write(_line(measure, stats, periods))


def _line(measure: str, stats: RefreshStats, periods: list[Period]) -> str:
    labels = ", ".join(period.label for period in periods)
    return (
        f"{measure}: {stats.periods_completed} periods ({labels}); "
        f"{stats.patients} patients evaluated, {stats.rows} rows stored."
    )
