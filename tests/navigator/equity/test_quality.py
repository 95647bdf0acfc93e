"""The data-quality table counts what hand-written SQL counts, in one query; small counts
are hidden so none can be worked out; the dashboard's completeness warning.

The population is drawn with a fixed seed: patients of three clinics registered over
five months (and some before the window, and a merged duplicate), with every status and
source. The SQL is written here from the rules, not from the module's expressions: race
from the answer rows themselves, months as ranges of registration times at local
midnight (so a patient registered at 00:30 on the 1st is in that month, not the last).
"""

# The SQL below is built from table names (Django's _meta) and fixed text, never input.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from navigator.equity.quality import (
    ALL,
    ENGLISH,
    FIELDS,
    LANGUAGE,
    METHOD_SENTENCES,
    NOT_ASKED,
    PATIENTS,
    RACE,
    SELF_REPORTED,
    completeness_columns,
    completeness_warning,
    completeness_warnings,
    data_quality,
    month_starts,
    registration_window,
)
from navigator.equity.suppression import hidden_text
from navigator.intake.patient_merge import patient_merge
from navigator.models import NavigationCase
from patients.models import Patient, PatientMerge, PatientRaceEthnicity
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 20)
MONTHS = 5  # January to May 2026
SEED = 7
RACE_ANSWERS = [
    [], ["white"], ["white"], ["black"], ["hispanic"], ["hispanic"], ["asian"],
    ["hispanic", "white"], ["declined"], ["unknown"],
]  # fmt: skip
SOURCES = ["self_reported", "self_reported", "proxy", "observer", "ehr_unstated"]
STATUSES = ["recorded", "recorded", "recorded", "declined", "unknown", "not_asked"]
LEVELS = ["very_well", "well", "not_well", "not_at_all", "declined", "unknown", "unknown"]


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def population(manager) -> list:
    """About 360 patients of three clinics, registered from November 2025 to today."""
    rng = random.Random(SEED)
    clinics = [factories.ClinicFactory(name=name) for name in ("Chelsea", "Revere", "Lynn")]
    registered: list[tuple[int, dt.datetime]] = []
    for number in range(360):
        status = rng.choice(STATUSES)
        answers = rng.choice(RACE_ANSWERS)
        patient = factories.PatientFactory(
            clinic=clinics[0] if number % 2 else rng.choice(clinics),
            preferred_language="es" if status == "recorded" and rng.random() < 0.5 else "en",
            language_status=status,
            language_source="" if status == "not_asked" else rng.choice(SOURCES),
            english_proficiency=rng.choice(LEVELS),
            race_ethnicity=answers,
            race_ethnicity__source=rng.choice(SOURCES),
        )
        day = TODAY - dt.timedelta(days=rng.randint(0, 200))
        at = local(day, rng.randint(0, 23), rng.randint(0, 59))
        if number % 30 == 0:  # just after local midnight on the 1st: that month, not the last
            at = local(dt.date(2026, rng.randint(1, 5), 1), 0, 30)
        if number % 30 == 1:  # just before midnight at a month's end
            at = local(dt.date(2026, 3, 31), 23, 45)
        registered.append((patient.pk, at))
    for pk, at in registered:
        Patient.objects.filter(pk=pk).update(created_at=at)
    # A duplicate merged into another record is no patient of its own
    survivor = Patient.objects.filter(clinic=clinics[0]).order_by("pk").first()
    duplicate = factories.PatientFactory(
        clinic=clinics[0],
        given_name=survivor.given_name,
        family_name=survivor.family_name,
        birth_date=survivor.birth_date,
    )
    Patient.objects.filter(pk=duplicate.pk).update(created_at=local(TODAY, 9))
    patient_merge(survivor_id=survivor.pk, duplicate_id=duplicate.pk, actor=manager)
    return clinics


# --- The hand-written SQL -------------------------------------------------------------------

PATIENT = Patient._meta.db_table
RACE_ROWS = PatientRaceEthnicity._meta.db_table
MERGE = PatientMerge._meta.db_table


def _rows(condition: str) -> str:
    return f"EXISTS (SELECT 1 FROM {RACE_ROWS} r WHERE r.patient_id = p.id AND {condition})"


ANSWERED_ENGLISH = "('very_well', 'well', 'not_well', 'not_at_all', 'declined')"
CONDITIONS = {
    (RACE, "recorded"): _rows("r.category NOT IN ('declined', 'unknown')"),
    (RACE, "declined"): _rows("r.category = 'declined'"),
    (RACE, "unknown"): _rows("r.category = 'unknown'"),
    (RACE, "not_asked"): f"NOT {_rows('1 = 1')}",
    (RACE, "self_reported"): f"p.race_ethnicity_source = 'self_reported' AND {_rows('1 = 1')}",
    (LANGUAGE, "recorded"): "p.language_status = 'recorded'",
    (LANGUAGE, "declined"): "p.language_status = 'declined'",
    (LANGUAGE, "unknown"): "p.language_status = 'unknown'",
    (LANGUAGE, "not_asked"): "p.language_status = 'not_asked'",
    (LANGUAGE, "self_reported"): "p.language_source = 'self_reported' "
    "AND p.language_status <> 'not_asked'",
    (ENGLISH, "recorded"): "p.english_proficiency IN ('very_well', 'well', 'not_well', "
    "'not_at_all')",
    (ENGLISH, "declined"): "p.english_proficiency = 'declined'",
    (ENGLISH, "unknown"): "p.english_proficiency = 'unknown'",
    (ENGLISH, "self_reported"): "p.language_source = 'self_reported' "
    f"AND p.english_proficiency IN {ANSWERED_ENGLISH}",
}


def sql_counts(today: dt.date, months: int) -> dict[tuple[int, dt.date], dict[str, int]]:
    """{(clinic id, first day of month): {"patients": n, "<field>__<measure>": n}}."""
    starts = month_starts(today, months)
    start, end = registration_window(today, months)
    bounds = [timezone.make_aware(dt.datetime.combine(day, dt.time.min)) for day in starts[1:]]
    month_case = (
        "CASE "
        + " ".join(f"WHEN p.created_at < %s THEN {index}" for index in range(len(bounds)))
        + f" ELSE {len(bounds)} END"
    )
    names = list(CONDITIONS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT clinic_id, m, COUNT(*), {', '.join(f'SUM(s{i})' for i in range(len(names)))} "
            f"FROM (SELECT p.clinic_id AS clinic_id, {month_case} AS m, "
            + ", ".join(
                f"CASE WHEN {CONDITIONS[name]} THEN 1 ELSE 0 END AS s{i}"
                for i, name in enumerate(names)
            )
            + f" FROM {PATIENT} p WHERE p.created_at >= %s AND p.created_at < %s "
            f"AND NOT EXISTS (SELECT 1 FROM {MERGE} g WHERE g.duplicate_id = p.id)) t "
            "GROUP BY clinic_id, m",
            # As the database stores them (UTC text on SQLite), as the ORM would pass them
            [connection.ops.adapt_datetimefield_value(v) for v in (*bounds, start, end)],
        )
        result = {}
        for clinic_id, month, patients, *flags in cursor.fetchall():
            result[(clinic_id, starts[month])] = {
                PATIENTS: patients,
                **{f"{f}__{m}": int(n or 0) for (f, m), n in zip(names, flags, strict=True)},
            }
        return result


def counts_of(row) -> dict[str, int | None]:
    flat: dict[str, int | None] = {PATIENTS: row.patients.count}
    for field, measures in row.fields.items():
        for measure, figure in measures.items():
            if figure is not None:
                flat[f"{field}__{measure}"] = figure.count
    return flat


# --- Every count against SQL ----------------------------------------------------------------


def test_every_count_is_what_hand_written_sql_counts_in_one_query(
    population, settings, django_assert_num_queries
):
    # Given nothing hidden (no count is small), to compare every count
    settings.EQUINAV_SMALL_CELL_MAX = 0

    # When the table is computed over the last five months, in one grouped query
    with django_assert_num_queries(1):  # the grouped count over patients (clinic, month)
        table = data_quality(patients=Patient.objects.all(), months=MONTHS, today=TODAY)

    # Then each clinic-month row has the SQL's counts, and no other row exists
    expected = sql_counts(TODAY, MONTHS)
    assert {(row.clinic_id, row.month): counts_of(row) for row in table.rows} == expected
    assert table.months == tuple(dt.date(2026, month, 1) for month in range(1, 6))
    # And the all row adds them up
    for key, total in counts_of(table.total).items():
        assert total == sum(counts[key] for counts in expected.values())
    # And the sums hold: each field's measures add up to the row's patients
    for row in (*table.rows, table.total):
        for field, measures in row.fields.items():
            parts = [f.count for m, f in measures.items() if f is not None and m != SELF_REPORTED]
            assert sum(parts) == row.patients.count, field


def test_the_window_leaves_out_older_registrations_and_merged_duplicates(population, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0

    table = data_quality(patients=Patient.objects.all(), months=MONTHS, today=TODAY)

    start, end = registration_window(TODAY, MONTHS)
    inside = Patient.objects.filter(created_at__gte=start, created_at__lt=end)
    merged = inside.filter(merged_into__isnull=False).count()
    assert merged == 1
    assert Patient.objects.filter(created_at__lt=start).exists()
    assert table.total.patients.count == inside.count() - merged


def test_a_month_starts_at_local_midnight(population, settings):
    # Given a patient registered at 00:30 on 1 February in the program's time zone
    # (05:30 UTC, but still 31 January in UTC minus 5 hours' worth of other zones)
    settings.EQUINAV_SMALL_CELL_MAX = 0
    clinic = factories.ClinicFactory(name="Zeta")
    patient = factories.PatientFactory(clinic=clinic)
    Patient.objects.filter(pk=patient.pk).update(created_at=local(dt.date(2026, 2, 1), 0, 30))

    table = data_quality(patients=Patient.objects.filter(clinic=clinic), months=5, today=TODAY)

    assert [(row.clinic, row.month) for row in table.rows] == [("Zeta", dt.date(2026, 2, 1))]


def test_english_proficiency_has_no_never_asked_count_and_its_parts_still_add_up(
    population, settings
):
    settings.EQUINAV_SMALL_CELL_MAX = 0

    table = data_quality(patients=Patient.objects.all(), months=MONTHS, today=TODAY)

    assert table.total.fields[ENGLISH][NOT_ASKED] is None
    assert table.total.fields[RACE][NOT_ASKED] is not None
    assert any("never asked" in sentence for sentence in METHOD_SENTENCES)
    assert any("as they are today" in sentence for sentence in METHOD_SENTENCES)


def test_the_scope_is_the_callers_queryset(population, settings):
    settings.EQUINAV_SMALL_CELL_MAX = 0
    chelsea = population[0]

    table = data_quality(
        patients=Patient.objects.filter(clinic=chelsea), months=MONTHS, today=TODAY
    )

    assert {row.clinic_id for row in table.rows} == {chelsea.pk}
    expected = {k: v for k, v in sql_counts(TODAY, MONTHS).items() if k[0] == chelsea.pk}
    assert {(row.clinic_id, row.month): counts_of(row) for row in table.rows} == expected


# --- Suppression -----------------------------------------------------------------------------


def test_small_counts_show_as_less_than_eleven_and_none_can_be_worked_out(population):
    # Given the default policy (1 to 10 hidden)
    table = data_quality(patients=Patient.objects.all(), months=MONTHS, today=TODAY)
    truth = sql_counts(TODAY, MONTHS)
    rows = (*table.rows, table.total)

    hidden = 0
    for row in rows:
        for measures in row.fields.values():
            for figure in [row.patients, *(f for f in measures.values() if f is not None)]:
                # Then nothing from 1 to 10 is shown; hidden counts read "Suppressed"
                if figure.suppressed:
                    hidden += 1
                    assert str(figure) == hidden_text() == "Suppressed"
                    assert figure.share is None
                else:
                    assert not 1 <= figure.count <= 10
    assert hidden > 0

    # And the actually small counts are all hidden
    for row in table.rows:
        for key, count in truth[(row.clinic_id, row.month)].items():
            if 1 <= count <= 10:
                assert counts_of(row)[key] is None, key

    # And no row or column has exactly one hidden count beside its shown total (which
    # would give it away by subtraction), in any field
    for field, _ in FIELDS:
        parts = [m for m, f in table.total.fields[field].items() if f and m != SELF_REPORTED]
        for row in rows:
            if row.patients.suppressed:
                continue
            missing = [m for m in parts if row.fields[field][m].suppressed]
            assert len(missing) != 1, (field, row.clinic, row.month)
        if not table.total.patients.suppressed:
            column = [row.patients for row in table.rows]
            assert sum(f.suppressed for f in column) != 1
        for measure in parts:
            if table.total.fields[field][measure].suppressed:
                continue
            column = [row.fields[field][measure] for row in table.rows]
            assert sum(f.suppressed for f in column) != 1, (field, measure)


def test_a_patient_count_hidden_for_one_field_is_hidden_for_all(population):
    table = data_quality(patients=Patient.objects.all(), months=MONTHS, today=TODAY)

    # The row's patients are one figure shown once per row: its share is hidden with it
    for row in table.rows:
        if row.patients.suppressed:
            for measures in row.fields.values():
                assert all(f is None or f.share is None for f in measures.values())
        else:
            figure = row.fields[RACE]["recorded"]
            if not figure.suppressed:
                assert figure.share == figure.count / row.patients.count


def test_the_all_row_is_keyed_apart_from_clinic_rows():
    assert ALL not in {None, 0}
    assert month_starts(dt.date(2026, 1, 31), 3) == (
        dt.date(2025, 11, 1),
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
    )
    with pytest.raises(ValueError, match="at least 1"):
        month_starts(TODAY, 0)


# --- The dashboard's warning -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "total", "threshold", "warns"),
    [
        (90, 100, None, False),  # exactly the default 90%: enough
        (89, 100, None, True),
        (0, 0, None, False),  # nobody counted: nothing to warn about
        (79, 100, 0.8, True),
        (80, 100, 0.8, False),
        (7, 7, None, False),
    ],
)
def test_the_warning_shows_under_the_threshold(recorded, total, threshold, warns):
    warning = completeness_warning(recorded, total, threshold=threshold)

    assert (warning is not None) == warns
    if warning:
        # It states the bound, never the share (which could reveal a hidden count)
        assert f"{threshold or 0.9:.0%}" in warning
        assert str(recorded) not in warning


def test_the_threshold_is_a_setting(settings):
    settings.EQUINAV_DEMOGRAPHIC_COMPLETENESS_MIN = 0.5

    assert completeness_warning(60, 100) is None
    assert "fewer than 50%" in completeness_warning(40, 100, what="preferred language")


def test_the_dashboards_own_grouped_query_carries_the_counts_for_the_warning(
    population, django_assert_num_queries
):
    # Given cases of some of the patients (not those the merge already opened one for),
    # and the dashboard's kind of grouped query
    uncased = Patient.objects.filter(merged_into__isnull=True, navigation_cases__isnull=True)
    for patient in uncased.order_by("pk")[:120]:
        factories.CaseFactory(patient=patient, navigator=None)

    # When it adds the completeness columns, it is still one query
    with django_assert_num_queries(1):  # the grouped count over cases, by clinic
        rows = list(
            NavigationCase.objects.order_by()
            .values("patient__clinic")
            .annotate(denominator=Count("pk", distinct=True), **completeness_columns("patient__"))
        )

    # Then the counts are the SQL's, and each clinic's warnings follow from them
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.clinic_id, COUNT(*), "
            f"SUM(CASE WHEN {CONDITIONS[(RACE, 'recorded')]} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {CONDITIONS[(LANGUAGE, 'recorded')]} THEN 1 ELSE 0 END) "
            f"FROM {NavigationCase._meta.db_table} k JOIN {PATIENT} p ON p.id = k.patient_id "
            "GROUP BY p.clinic_id"
        )
        expected = {clinic: (n, race, language) for clinic, n, race, language in cursor}
    assert {
        row["patient__clinic"]: (row["denominator"], row["race_recorded"], row["language_recorded"])
        for row in rows
    } == expected
    for row in rows:
        warnings = completeness_warnings(row, threshold=0.9)
        race_low = row["race_recorded"] < 0.9 * row["denominator"]
        assert any("race and ethnicity" in w for w in warnings) == race_low
        language_low = row["language_recorded"] < 0.9 * row["denominator"]
        assert any("preferred language" in w for w in warnings) == language_low
