"""The engine's concepts in codes: built-in starter codes, official value sets and their loading.

The official value sets are read from `../shared/ecqm/*/valuesets.json`, where
the eCQM packages put them; they are never copied into the project. Tests that
need them skip when they are absent, or fail when REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.caregaps.builtin_codes import (
    COMMON_EXCLUSIONS,
    CONCEPTS,
    EXCLUSIONS,
    MODALITY_CONCEPTS,
)
from patients.caregaps.codes import CPT, LOINC, SNOMED, normalise_system
from patients.caregaps.valuesets import valuesets_load
from patients.models import (
    CodeConcept,
    ProgramExclusion,
    RuleVersion,
    ScreeningModality,
    ScreeningProgram,
    ValueSet,
    ValueSetCode,
)
from patients.selectors import concept_codes, program_rules_snapshot, value_set_codes
from tests import factories
from tests.support.paths import ECQM
from tests.support.services import need

pytestmark = pytest.mark.django_db

COLONOSCOPY_URL = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.108.12.1020"
TEST_URL = "http://example.org/fhir/ValueSet/test-colonoscopy"

Code = tuple[str, str]


# --- Helpers ----------------------------------------------------------------------------


def spec(key: str) -> dict[str, Any]:
    return next(concept for concept in CONCEPTS if concept["key"] == key)


def starter_codes(key: str) -> set[Code]:
    return {(system, code) for system, code, _ in spec(key)["codes"]}


def shared_value_set_paths() -> list[Path]:
    paths = sorted(ECQM.glob("*/valuesets.json"))
    need("The eCQM value sets", bool(paths), f"there is no {ECQM}/*/valuesets.json")
    return paths


def shared_documents() -> list[tuple[str, bytes]]:
    return [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in shared_value_set_paths()]


def shared_expansions() -> dict[str, set[Code]]:
    """Every official value set's codes, read straight from the files (not by the loader)."""

    def codes(contains: list[dict[str, Any]]) -> set[Code]:
        found = set()
        for item in contains:
            if "code" in item:
                found.add((normalise_system(item.get("system")), item["code"]))
            found |= codes(item.get("contains", []))
        return found

    expansions: dict[str, set[Code]] = {}
    for path in shared_value_set_paths():
        for entry in json.loads(path.read_bytes())["entry"]:
            resource = entry["resource"]
            expansion = codes(resource["expansion"].get("contains", []))
            expansions.setdefault(resource["url"], set()).update(expansion)
    return expansions


def shared_value_set_count() -> int:
    """How many distinct value sets the shared folders hold (measures are added to
    shared/ecqm over time, and each brings its own)."""
    return len(shared_expansions())


def value_set(
    url: str = TEST_URL,
    codes: list[tuple[str, str, str]] | None = None,
    *,
    title: str = "Test Colonoscopy",
    version: str = "20250101",
) -> dict[str, Any]:
    """A ValueSet resource with an expansion, in the shape VSAC exports."""
    if codes is None:
        codes = [(CPT, "45378", "Colonoscopy, diagnostic"), (SNOMED, "73761001", "Colonoscopy")]
    return {
        "resourceType": "ValueSet",
        "id": url.rsplit("/", 1)[-1],
        "url": url,
        "version": version,
        "name": title.replace(" ", ""),
        "title": title,
        "status": "active",
        "expansion": {
            "identifier": "urn:uuid:7b1c3c3e-2f41-4e0e-9a59-1a2b3c4d5e6f",
            "timestamp": "2025-01-01T00:00:00-05:00",
            "contains": [
                {"system": system, "code": code, "display": display}
                for system, code, display in codes
            ],
        },
    }


def bundle(*resources: dict[str, Any], bundle_type: str = "collection") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [{"resource": resource} for resource in resources],
    }


def as_file(name: str, document: Any) -> tuple[str, bytes]:
    return name, json.dumps(document, indent=2).encode()


def stored() -> dict[str, Any]:
    """Everything the loader writes, to compare before and after."""
    return {
        "value_sets": sorted(
            ValueSet.objects.values_list("pk", "url", "version", "content_hash", "loaded_at")
        ),
        "codes": sorted(ValueSetCode.objects.values_list("pk", "value_set_id", "system", "code")),
    }


def refused(documents: list[tuple[str, bytes]]) -> list[str]:
    """Load, expect a refusal, and check that nothing was written."""
    before = stored()
    with pytest.raises(ValidationError) as refusal:
        valuesets_load(documents=documents)
    assert stored() == before
    return refusal.value.messages


def writes(queries: list[dict[str, str]]) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.fixture
def preloaded() -> ValueSet:
    """A value set already loaded, that a bad load must leave as it is."""
    valuesets_load(documents=[as_file("earlier.json", value_set())])
    return ValueSet.objects.get(url=TEST_URL)


# --- Built-in codes ---------------------------------------------------------------------


def test_every_starter_code_is_in_one_of_its_concepts_official_value_sets():
    expansions = shared_expansions()
    problems = []
    for concept in CONCEPTS:
        for url in concept["value_sets"]:
            if url not in expansions:
                problems.append(f"{concept['key']}: no official value set {url}")
        official = set().union(*(expansions.get(url, set()) for url in concept["value_sets"]))
        for system, code, display in concept["codes"]:
            if concept["value_sets"] and (system, code) not in official:
                problems.append(f"{concept['key']}: {system}|{code} ({display}) is in none")

    assert problems == []


def test_every_starter_code_names_its_system_the_way_the_engine_matches_it():
    for concept in CONCEPTS:
        for system, code, _ in concept["codes"]:
            assert normalise_system(system) == system, (concept["key"], system)
            assert code == code.strip() and code, concept["key"]


def test_the_migration_seeded_every_concept_with_its_starter_codes_and_value_sets():
    assert CodeConcept.objects.count() == len(CONCEPTS)
    for expected in CONCEPTS:
        concept = CodeConcept.objects.get(key=expected["key"])
        assert (concept.name, concept.kind) == (expected["name"], expected["kind"])
        assert concept.value_set_urls == expected["value_sets"]
        assert set(concept.codes.values_list("system", "code", "display")) == set(expected["codes"])


def test_every_screening_modality_except_the_co_test_has_the_concept_that_shows_it_was_done():
    modalities = ScreeningModality.objects.select_related("program", "concept")

    without = [m.code for m in modalities if m.concept is None and m.role == "screening"]
    assert without == ["cotest"]
    # A diagnostic test (biopsy, colposcopy) never counts as the screening: no concept.
    assert all(m.concept is None for m in modalities if m.role == "diagnostic")
    for modality in modalities.exclude(code="cotest").filter(role="screening"):
        expected = MODALITY_CONCEPTS[(modality.program.code, modality.code)]
        assert modality.concept.key == expected


def test_the_migration_seeded_each_programs_exclusions():
    for program_code, code, _name, all_of, lookback, min_age in EXCLUSIONS:
        exclusion = ProgramExclusion.objects.get(program__code=program_code, code=code)
        assert sorted(exclusion.all_of.values_list("key", flat=True)) == sorted(all_of)
        assert (exclusion.lookback_months, exclusion.min_age) == (lookback, min_age)
    for program_code in ("colorectal", "breast", "cervical"):
        for code, _name, all_of, lookback, min_age in COMMON_EXCLUSIONS:
            exclusion = ProgramExclusion.objects.get(program__code=program_code, code=code)
            assert sorted(exclusion.all_of.values_list("key", flat=True)) == sorted(all_of)
            assert (exclusion.lookback_months, exclusion.min_age) == (lookback, min_age)


def test_each_screening_program_has_rule_version_1_and_2_with_the_rules_the_migrations_compute():
    migration = importlib.import_module("patients.migrations.0004_seed_codes_and_rules")

    # (The diabetes control programme, seeded later by 0031, has its own test below.)
    for program in ScreeningProgram.objects.filter(kind="screening"):
        first, second = RuleVersion.objects.filter(program=program).order_by("number")
        assert first.number == 1
        assert first.before == {}
        # (0004's snapshot of the screening tests, before diagnostic tests were added)
        assert first.after["modalities"] == [
            m
            for m in migration.rules_snapshot(program, ScreeningModality, ProgramExclusion)[
                "modalities"
            ]
            if m["code"] in {t.code for t in program.modalities.filter(role="screening")}
        ]
        # Version 2 adds what results mean and what each calls for next.
        assert second.number == 2 == program.rule_version
        assert second.before == first.after
        assert second.after["follow_up_pathways"]
        # The service that records later versions computes the same snapshot.
        assert second.after == program_rules_snapshot(program)


def test_the_diabetes_control_programme_has_rule_version_1_with_the_rules_the_selector_computes():
    program = ScreeningProgram.objects.get(code="diabetes")

    (first,) = RuleVersion.objects.filter(program=program)

    assert first.number == 1 == program.rule_version
    assert first.before == {}
    # The migration's own snapshot and the service's agree, so the next change has a
    # true "before".
    assert first.after == program_rules_snapshot(program)
    assert first.after["control"] == {
        "condition": "diabetes",
        "labs": ["gmi", "hba1c"],
        "target": "8",
        "unit": "%",
        "poor_control": "9",
        "interval_months": 6,
        "interval_above_target_months": 3,
    }


def test_the_diabetes_control_programme_has_cms122s_exclusions_and_ages():
    program = ScreeningProgram.objects.get(code="diabetes")

    assert (program.kind, program.min_age, program.max_age, program.sex) == (
        "control",
        18,
        75,
        "any",
    )
    assert "CMS122" in program.guideline and "ADA" in program.guideline
    for code, _name, all_of, lookback, min_age in COMMON_EXCLUSIONS:
        exclusion = ProgramExclusion.objects.get(program=program, code=code)
        assert sorted(exclusion.all_of.values_list("key", flat=True)) == sorted(all_of)
        assert (exclusion.lookback_months, exclusion.min_age) == (lookback, min_age)
    assert not program.modalities.exists()


def test_the_control_concepts_name_cms122s_value_sets_and_gmi_code():
    from patients.caregaps.measures import cms122

    assert spec("diabetes")["value_sets"] == [
        f"http://cts.nlm.nih.gov/fhir/ValueSet/{cms122.DIABETES}"
    ]
    assert spec("hba1c")["value_sets"] == [
        f"http://cts.nlm.nih.gov/fhir/ValueSet/{cms122.HBA1C_LAB_TEST}"
    ]
    assert starter_codes("gmi") == {cms122.GLUCOSE_MANAGEMENT_INDICATOR}


def test_until_value_sets_are_loaded_each_concept_has_its_starter_codes():
    codes = concept_codes()

    assert set(codes) == {concept["key"] for concept in CONCEPTS}
    for concept in CONCEPTS:
        assert codes[concept["key"]] == starter_codes(concept["key"])


# --- Loading the official value sets -------------------------------------------------------


def test_loading_the_shared_value_sets_loads_every_one_with_every_code():
    documents = shared_documents()
    expansions = shared_expansions()

    result = valuesets_load(documents=documents)

    assert (result.loaded, result.updated, result.unchanged) == (shared_value_set_count(), 0, 0)
    assert ValueSet.objects.count() == shared_value_set_count()
    assert value_set_codes(expansions) == {url: frozenset(c) for url, c in expansions.items()}
    advanced_illness = ValueSet.objects.get(title="Advanced Illness")
    assert advanced_illness.code_count == advanced_illness.codes.count() > 1500
    assert (
        result.codes_written == ValueSetCode.objects.count() == sum(map(len, expansions.values()))
    )
    # Payer type, race, ethnicity and sex are in code systems the engine does not match.
    assert any("Payer Type" in w and "never match" in w for w in result.warnings)


def test_loading_the_same_value_sets_again_changes_nothing_and_says_so():
    documents = shared_documents()
    valuesets_load(documents=documents)
    before = stored()

    with CaptureQueriesContext(connection) as queries:
        result = valuesets_load(documents=documents)

    assert (result.loaded, result.updated, result.unchanged) == (0, 0, shared_value_set_count())
    assert result.codes_written == 0
    assert stored() == before  # same rows, same loaded_at
    assert writes(queries.captured_queries) == []


def test_concepts_switch_from_starter_codes_to_the_official_expansion_once_loaded():
    expansions = shared_expansions()
    starter = concept_codes(["colonoscopy", "hospice", "ldct"])
    assert starter["colonoscopy"] == starter_codes("colonoscopy")

    valuesets_load(documents=shared_documents())

    codes = concept_codes(["colonoscopy", "hospice", "ldct"])
    assert codes["colonoscopy"] == expansions[COLONOSCOPY_URL]
    assert len(codes["colonoscopy"]) > len(starter["colonoscopy"])
    hospice_urls = spec("hospice")["value_sets"]
    assert codes["hospice"] == set().union(*(expansions[url] for url in hospice_urls))
    # A concept with no official value set keeps its starter codes.
    assert codes["ldct"] == starter["ldct"]


def test_a_concept_uses_those_of_its_value_sets_that_are_loaded_and_no_starter_codes():
    hospice = CodeConcept.objects.get(key="hospice")
    first_url = hospice.value_set_urls[0]

    valuesets_load(
        documents=[as_file("hospice.json", value_set(first_url, [(SNOMED, "1234567", "Only")]))]
    )

    assert concept_codes(["hospice"]) == {"hospice": frozenset({(SNOMED, "1234567")})}


def test_a_changed_expansion_replaces_the_codes_and_is_reported_as_updated(preloaded):
    changed = value_set(codes=[(SNOMED, "73761001", "Colonoscopy"), (CPT, "45380", "Biopsy")])

    an_hour_later = preloaded.loaded_at + dt.timedelta(hours=1)

    with time_machine.travel(an_hour_later, tick=False):
        result = valuesets_load(documents=[as_file("newer.json", changed)])

    assert (result.loaded, result.updated, result.unchanged) == (0, 1, 0)
    value_set_row = ValueSet.objects.get()
    assert value_set_row.pk == preloaded.pk
    assert value_set_row.loaded_at == an_hour_later
    assert value_set_row.content_hash != preloaded.content_hash
    assert value_set_row.code_count == 2
    assert value_set_codes([TEST_URL]) == {TEST_URL: {(SNOMED, "73761001"), (CPT, "45380")}}


def test_a_single_value_set_file_loads_with_nested_codes_flattened_and_systems_normalised():
    resource = value_set(codes=[])
    resource["expansion"]["contains"] = [
        {
            "display": "Endoscopy (a grouping entry without a code)",
            "contains": [
                {"system": "urn:oid:2.16.840.1.113883.6.96", "code": "73761001"},
                {"system": CPT, "code": "45378", "contains": [{"system": CPT, "code": "45380"}]},
            ],
        }
    ]

    result = valuesets_load(documents=[as_file("single.json", resource)])

    assert result.loaded == 1
    assert value_set_codes([TEST_URL, "http://example.org/not-loaded"]) == {
        TEST_URL: {(SNOMED, "73761001"), (CPT, "45378"), (CPT, "45380")}
    }


def test_an_unknown_code_system_is_a_warning_and_its_codes_are_stored_but_never_match():
    local = "http://example.org/CodeSystem/local-tests"
    resource = value_set(codes=[(local, "FIT-1", "Our FIT"), (LOINC, "29771-3", "FIT")])

    result = valuesets_load(documents=[as_file("local.json", bundle(resource))])

    assert result.loaded == 1
    assert len(result.warnings) == 1
    assert "local.json, entry[0]" in result.warnings[0]
    assert local in result.warnings[0]
    assert ValueSetCode.objects.filter(system=local, code="FIT-1").exists()


def test_value_sets_of_any_bundle_type_load():
    other = value_set("http://example.org/fhir/ValueSet/other", [(LOINC, "2335-8", "gFOBT")])

    result = valuesets_load(
        documents=[as_file("searchset.json", bundle(value_set(), other, bundle_type="searchset"))]
    )

    assert result.loaded == 2


# --- Bad input: a clear message naming the place, nothing written ---------------------------


def test_a_truncated_file_is_refused_with_its_line_and_column(preloaded):
    text = json.dumps(bundle(value_set(codes=[(CPT, "45380", "Biopsy")])), indent=2).encode()

    messages = refused([as_file("good.json", value_set()), ("cut.json", text[: len(text) // 2])])

    assert len(messages) == 1
    assert messages[0].startswith("cut.json: line ")
    assert "column" in messages[0]
    assert "truncated" in messages[0]


def test_a_file_that_is_not_json_is_refused(preloaded):
    messages = refused([("codes.csv", b"system,code\nhttp://loinc.org,2335-8\n")])

    assert messages == [
        "codes.csv: line 1, column 1: not valid JSON: Expecting value.",
    ]


def test_a_file_that_is_not_utf8_is_refused(preloaded):
    messages = refused([("latin1.json", '{"title": "Colonoscopía"}'.encode("latin-1"))])

    assert messages[0].startswith("latin1.json: not UTF-8 text")


@pytest.mark.parametrize("content", [b"", b"  \n"])
def test_an_empty_file_is_refused(preloaded, content):
    assert refused([("empty.json", content)]) == ["empty.json: the file is empty."]


def test_a_bundle_with_a_patient_entry_is_refused_naming_the_entry(preloaded):
    patient = {"resourceType": "Patient", "id": "p1"}

    messages = refused([as_file("mixed.json", bundle(value_set(), patient))])

    assert messages == ["mixed.json: entry[1]: expected a ValueSet, found 'Patient'."]


def test_a_resource_that_is_neither_a_bundle_nor_a_value_set_is_refused(preloaded):
    messages = refused([as_file("patient.json", {"resourceType": "Patient", "id": "p1"})])

    assert messages == [
        "patient.json: resourceType: expected a Bundle of ValueSets or a ValueSet, found 'Patient'."
    ]


def test_a_value_set_without_a_url_is_refused(preloaded):
    resource = value_set()
    del resource["url"]

    messages = refused(
        [as_file("no-url.json", bundle(value_set("http://example.org/a"), resource))]
    )

    assert len(messages) == 1
    assert messages[0].startswith("no-url.json, entry[1]: resource.url: ")
    assert "no url" in messages[0]


def test_a_value_set_without_an_expansion_is_refused_because_the_engine_needs_codes(preloaded):
    resource = value_set()
    del resource["expansion"]
    resource["compose"] = {"include": [{"system": CPT, "concept": [{"code": "45378"}]}]}

    messages = refused([as_file("compose.json", resource)])

    assert len(messages) == 1
    assert messages[0].startswith(f"compose.json ({TEST_URL}): expansion: ")
    assert "only a compose" in messages[0]
    assert "needs expanded value sets" in messages[0]


def test_an_expansion_without_codes_is_refused(preloaded):
    resource = value_set(codes=[])
    del resource["expansion"]["contains"]

    messages = refused([as_file("empty-expansion.json", resource)])

    assert "expansion.contains: the expansion lists no codes" in messages[0]


def test_a_field_of_the_wrong_type_is_refused_naming_the_field(preloaded):
    resource = value_set()
    resource["expansion"]["contains"] = "x"

    messages = refused([as_file("bad-type.json", bundle(resource))])

    assert messages == [
        f"bad-type.json, entry[0] ({TEST_URL}): resource.expansion.contains: "
        "Input should be a valid list (got 'x')."
    ]


def test_a_date_in_an_impossible_format_is_refused_naming_the_field(preloaded):
    resource = value_set()
    resource["expansion"]["timestamp"] = "31/12/2024"

    messages = refused([as_file("bad-date.json", resource)])

    assert len(messages) == 1
    assert messages[0].startswith(f"bad-date.json ({TEST_URL}): expansion.timestamp: ")
    assert "'31/12/2024'" in messages[0]


def test_json_nested_too_deeply_is_refused_not_a_crash(preloaded):
    messages = refused([("deep.json", b"[" * 100_000)])

    assert messages == ["deep.json: the JSON is nested too deeply to be a ValueSet."]


def test_a_code_without_a_system_is_refused_naming_the_code(preloaded):
    resource = value_set()
    resource["expansion"]["contains"].append({"code": "45385"})

    messages = refused([as_file("no-system.json", resource)])

    assert messages == [
        f"no-system.json ({TEST_URL}): expansion.contains[2]: the code '45385' has no system."
    ]


def test_one_value_set_defined_two_ways_in_one_load_is_refused(preloaded):
    other = value_set(codes=[(CPT, "45380", "Biopsy")])

    messages = refused([as_file("a.json", value_set()), as_file("b.json", other)])

    assert messages == [
        f"b.json ({TEST_URL}): the same url as a.json ({TEST_URL}) but different content: "
        "load one of them."
    ]


def test_one_bad_file_among_good_ones_loads_nothing_at_all(preloaded):
    changed = value_set(codes=[(CPT, "45380", "Biopsy")])
    new = value_set("http://example.org/fhir/ValueSet/new", [(LOINC, "2335-8", "gFOBT")])
    bad = value_set("http://example.org/fhir/ValueSet/bad")
    bad["expansion"]["contains"][0]["code"] = {"not": "a string"}

    messages = refused(
        [as_file("changed.json", changed), as_file("bad.json", bad), as_file("new.json", new)]
    )

    assert len(messages) == 1
    assert messages[0].startswith("bad.json (http://example.org/fhir/ValueSet/bad): ")
    assert "expansion.contains[0].code" in messages[0]
    assert not ValueSet.objects.filter(url="http://example.org/fhir/ValueSet/new").exists()
    assert value_set_codes([TEST_URL])[TEST_URL] == {(CPT, "45378"), (SNOMED, "73761001")}


def test_the_shared_value_sets_with_one_bad_file_load_nothing():
    documents = shared_documents()
    truncated = documents[0][1][:1000]

    messages = refused([*documents[1:], ("valuesets-cut.json", truncated)])

    assert ValueSet.objects.count() == 0
    assert messages[0].startswith("valuesets-cut.json: line ")


# --- The management command -------------------------------------------------------------


def run_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("load_valuesets", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_loads_files_and_prints_each_value_set_and_the_totals(tmp_path):
    other = value_set(
        "http://example.org/fhir/ValueSet/fobt", [(LOINC, "2335-8", "gFOBT")], title="FOBT"
    )
    (tmp_path / "one.json").write_text(json.dumps(bundle(value_set(), other)))

    out, err = run_command(str(tmp_path / "one.json"))

    assert f"loaded     Test Colonoscopy <{TEST_URL}> 2 codes" in out
    assert "loaded     FOBT <http://example.org/fhir/ValueSet/fobt> 1 code\n" in out
    assert "2 value sets: 2 loaded, 0 updated, 0 unchanged; 3 codes written, 3 in all." in out
    assert err == ""
    assert ValueSet.objects.count() == 2


def test_the_command_reports_unchanged_value_sets_on_a_second_run(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(value_set()))
    run_command(str(tmp_path / "one.json"))

    out, _ = run_command(str(tmp_path / "one.json"))

    assert f"unchanged  Test Colonoscopy <{TEST_URL}> 2 codes" in out
    assert "1 value set: 0 loaded, 0 updated, 1 unchanged; 0 codes written, 2 in all." in out


def test_the_command_loads_every_json_file_in_a_folder(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(value_set()))
    (tmp_path / "b.json").write_text(
        json.dumps(value_set("http://example.org/fhir/ValueSet/b", [(LOINC, "2335-8", "gFOBT")]))
    )
    (tmp_path / "notes.txt").write_text("not a value set")

    out, _ = run_command(str(tmp_path))

    assert "2 value sets: 2 loaded" in out


def test_the_command_loads_the_shared_value_sets_and_warns_of_unmatched_systems():
    paths = [str(p) for p in shared_value_set_paths()]

    out, err = run_command(*paths)

    assert f"{shared_value_set_count()} value sets: {shared_value_set_count()} loaded" in out
    assert "Advanced Illness" in out
    assert "Warning: " in err and "Payer Type" in err


def test_the_command_prints_every_problem_and_fails_writing_nothing(tmp_path, preloaded):
    before = stored()
    (tmp_path / "good.json").write_text(json.dumps(value_set(codes=[(CPT, "45380", "Biopsy")])))
    (tmp_path / "bad.json").write_text('{"resourceType": "Bundle", "entry": [')
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing was loaded: 2 problems"):
        call_command(
            "load_valuesets",
            str(tmp_path / "good.json"),
            str(tmp_path / "bad.json"),
            str(tmp_path / "missing.json"),
            stdout=StringIO(),
            stderr=err,
        )

    assert f"{tmp_path / 'missing.json'}: no such file or folder." in err.getvalue()
    assert f"{tmp_path / 'bad.json'}: line 1, column" in err.getvalue()
    assert stored() == before


def test_the_command_refuses_a_folder_without_json_files(tmp_path):
    with pytest.raises(CommandError):
        call_command("load_valuesets", str(tmp_path), stdout=StringIO(), stderr=(err := StringIO()))

    assert "the folder has no .json files" in err.getvalue()


# --- Reading codes ----------------------------------------------------------------------


def test_concept_codes_takes_at_most_two_queries_however_many_concepts(
    django_assert_max_num_queries,
):
    urls = sorted({url for concept in CONCEPTS for url in concept["value_sets"]})
    valuesets_load(
        documents=[
            as_file(f"{n}.json", value_set(url, [(SNOMED, str(1000 + n), f"Code {n}")]))
            for n, url in enumerate(urls)
        ]
    )

    with django_assert_max_num_queries(2):
        codes = concept_codes()
    with django_assert_max_num_queries(2):
        some = concept_codes(["colonoscopy", "ldct"])

    assert len(codes) == len(CONCEPTS)
    assert codes["colonoscopy"] == {(SNOMED, str(1000 + urls.index(COLONOSCOPY_URL)))}
    assert some == {"colonoscopy": codes["colonoscopy"], "ldct": codes["ldct"]}
    assert codes["ldct"] == starter_codes("ldct")


def test_value_set_codes_leaves_out_value_sets_that_are_not_loaded(preloaded):
    assert value_set_codes([TEST_URL, COLONOSCOPY_URL]) == {
        TEST_URL: frozenset({(CPT, "45378"), (SNOMED, "73761001")})
    }
    assert value_set_codes([]) == {}


# --- The admin --------------------------------------------------------------------------


def test_the_admin_shows_concepts_with_their_value_sets_and_whether_they_are_loaded(
    client, preloaded
):
    concept = CodeConcept.objects.get(key="colonoscopy")
    concept.value_set_urls = [TEST_URL, COLONOSCOPY_URL]
    concept.save()
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))

    listing = client.get("/admin/patients/codeconcept/")
    detail = client.get(f"/admin/patients/codeconcept/{concept.pk}/change/")

    assert listing.status_code == 200
    assert "1 of 2" in listing.content.decode()
    assert detail.status_code == 200
    assert f"{TEST_URL}: loaded, Test Colonoscopy (2 codes)" in detail.content.decode()
    assert f"{COLONOSCOPY_URL}: not loaded" in detail.content.decode()


@pytest.mark.parametrize(
    "model",
    ["valueset", "valuesetcode", "programexclusion", "ruleversion", "fhirsource",
     "clinicalresource", "fhirimport", "dataqualitywarning", "caregap", "referralupload"],
)  # fmt: skip
def test_the_admin_lists_the_new_models(client, preloaded, model):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))

    assert client.get(f"/admin/patients/{model}/").status_code == 200


def test_value_sets_and_rule_versions_are_read_only_in_the_admin(client, preloaded):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    version = RuleVersion.objects.first()

    page = client.get(f"/admin/patients/valueset/{preloaded.pk}/change/")
    posted = client.post(f"/admin/patients/ruleversion/{version.pk}/change/", {"summary": "x"})

    assert page.status_code == 200
    assert 'name="url"' not in page.content.decode()
    assert posted.status_code == 403
    assert client.get("/admin/patients/valueset/add/").status_code == 403
