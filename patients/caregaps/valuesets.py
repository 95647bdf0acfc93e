"""Loading official value sets (FHIR ValueSet expansions) into the database.

Health systems receive the eCQM value sets from VSAC as FHIR ValueSet
resources with their expansions, in a Bundle or one resource per file. The
engine needs the expansion (the list of codes), not the `compose` rules.

Everything is checked before anything is written, and every file of one call
is loaded in one transaction: one bad file and nothing is loaded. Loading the
same value sets again writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from fhir.resources.R4B.valueset import ValueSet as FhirValueSet
from fhir.resources.R4B.valueset import ValueSetExpansionContains
from pydantic import ValidationError as PydanticValidationError

from patients.caregaps.codes import KNOWN_SYSTEMS, normalise_system
from patients.models import ValueSet, ValueSetCode

Status = Literal["loaded", "updated", "unchanged"]

BATCH_SIZE = 1000
# Validation messages shown per value set before "... and N more".
MAX_FIELD_ERRORS = 5
# Problems shown per file.
MAX_FILE_ERRORS = 20


def _max_length(model: type[ValueSet] | type[ValueSetCode], name: str) -> int:
    return int(getattr(model._meta.get_field(name), "max_length", 0) or 0)


_URL_MAX = _max_length(ValueSet, "url")
_VERSION_MAX = _max_length(ValueSet, "version")
_NAME_MAX = _max_length(ValueSet, "name")
_TITLE_MAX = _max_length(ValueSet, "title")
_SYSTEM_MAX = _max_length(ValueSetCode, "system")
_CODE_MAX = _max_length(ValueSetCode, "code")
_DISPLAY_MAX = _max_length(ValueSetCode, "display")


@dataclass(frozen=True)
class ParsedCode:
    system: str
    code: str
    display: str


@dataclass
class ParsedValueSet:
    """A checked value set, ready to store. `place` says where it came from."""

    place: str
    url: str
    version: str
    name: str
    title: str
    codes: list[ParsedCode]
    content_hash: str
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.title or self.name or self.url


@dataclass(frozen=True)
class ValueSetOutcome:
    url: str
    version: str
    title: str
    code_count: int
    status: Status
    place: str


@dataclass
class ValueSetLoadResult:
    value_sets: list[ValueSetOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def _count(self, status: Status) -> int:
        return sum(1 for outcome in self.value_sets if outcome.status == status)

    @property
    def loaded(self) -> int:
        return self._count("loaded")

    @property
    def updated(self) -> int:
        return self._count("updated")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def codes_total(self) -> int:
        """Codes in every value set named by the files."""
        return sum(outcome.code_count for outcome in self.value_sets)

    @property
    def codes_written(self) -> int:
        """Codes written: those of the loaded and updated value sets."""
        return sum(
            outcome.code_count for outcome in self.value_sets if outcome.status != "unchanged"
        )


# --- Reading --------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _parse_json(name: str, raw: bytes, errors: list[str]) -> Any:
    if not raw.strip():
        errors.append(f"{name}: the file is empty.")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(f"{name}: not UTF-8 text (byte {exc.start}); is it really a JSON file?")
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        ending = " (the file ends too early: truncated?)" if exc.pos >= len(text.rstrip()) else ""
        errors.append(
            f"{name}: line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}{ending}."
        )
    except ValueError as exc:
        errors.append(f"{name}: not valid JSON: {exc}.")
    except RecursionError:
        errors.append(f"{name}: the JSON is nested too deeply to be a ValueSet.")
    return None


def _field_path(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(the resource)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pydantic_messages(where: str, prefix: str, exc: PydanticValidationError) -> list[str]:
    problems = exc.errors()
    messages = []
    for problem in problems[:MAX_FIELD_ERRORS]:
        path = _field_path([*([prefix] if prefix else []), *problem["loc"]])
        message = " ".join(str(problem["msg"]).split())
        got = problem.get("input")
        shown = f" (got {_short(got)})" if got is not None and not isinstance(got, dict) else ""
        messages.append(f"{where}: {path}: {message}{shown}.")
    if len(problems) > MAX_FIELD_ERRORS:
        messages.append(f"{where}: ... and {len(problems) - MAX_FIELD_ERRORS} more problems.")
    return messages


def _flatten(
    contains: Iterable[ValueSetExpansionContains] | None, path: str
) -> Iterator[tuple[str, ValueSetExpansionContains]]:
    for index, item in enumerate(contains or []):
        item_path = f"{path}[{index}]"
        yield item_path, item
        yield from _flatten(item.contains, f"{item_path}.contains")


def content_hash(
    *, url: str, version: str, name: str, title: str, codes: Iterable[ParsedCode]
) -> str:
    """sha256 of the canonical JSON of what a value set stores."""
    canonical = json.dumps(
        {
            "url": url,
            "version": version,
            "name": name,
            "title": title,
            "codes": sorted([c.system, c.code, c.display] for c in codes),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parse_value_set(
    resource: dict[str, Any], *, where: str, prefix: str, errors: list[str]
) -> ParsedValueSet | None:
    """Check one ValueSet resource; None (with errors) if it cannot be loaded."""
    raw_url = resource.get("url")
    if isinstance(raw_url, str) and raw_url.strip():
        where = f"{where} ({raw_url.strip()[:_URL_MAX]})"
    try:
        value_set = FhirValueSet.model_validate(resource)
    except PydanticValidationError as exc:
        errors.extend(_pydantic_messages(where, prefix, exc))
        return None
    except (TypeError, ValueError) as exc:
        errors.append(f"{where}: not a valid FHIR ValueSet: {exc}.")
        return None
    except RecursionError:
        errors.append(f"{where}: the ValueSet is nested too deeply to read.")
        return None

    at = f"{prefix}." if prefix else ""
    url = (value_set.url or "").strip()
    if not url:
        errors.append(f"{where}: {at}url: the ValueSet has no url, so nothing can refer to it.")
        return None
    if len(url) > _URL_MAX:
        errors.append(f"{where}: {at}url is longer than {_URL_MAX} characters.")
        return None
    version = (value_set.version or "").strip()
    if len(version) > _VERSION_MAX:
        errors.append(f"{where}: {at}version is longer than {_VERSION_MAX} characters.")
        return None
    if value_set.expansion is None:
        what = "only a compose (the rules)" if value_set.compose is not None else "no expansion"
        errors.append(
            f"{where}: {at}expansion: the ValueSet has {what}. The engine needs expanded value "
            "sets: export them with their expansion (e.g. VSAC's $expand)."
        )
        return None

    codes: dict[tuple[str, str], ParsedCode] = {}
    duplicates = 0
    unknown: dict[str, int] = {}
    bad = 0
    for path, item in _flatten(value_set.expansion.contains, f"{at}expansion.contains"):
        if item.code is None:
            continue  # a grouping entry: its nested codes are flattened in
        code = item.code.strip()
        system = normalise_system(item.system)
        problem = ""
        if not system:
            problem = f"the code {code!r} has no system"
        elif len(system) > _SYSTEM_MAX:
            problem = f"the system is longer than {_SYSTEM_MAX} characters"
        elif len(code) > _CODE_MAX:
            problem = f"the code is longer than {_CODE_MAX} characters"
        if problem:
            bad += 1
            if bad <= MAX_FIELD_ERRORS:
                errors.append(f"{where}: {path}: {problem}.")
            continue
        if (system, code) in codes:
            duplicates += 1
            continue
        if system not in KNOWN_SYSTEMS:
            unknown[system] = unknown.get(system, 0) + 1
        codes[(system, code)] = ParsedCode(system, code, (item.display or "")[:_DISPLAY_MAX])
    if bad > MAX_FIELD_ERRORS:
        errors.append(f"{where}: ... and {bad - MAX_FIELD_ERRORS} more codes like these.")
    if bad:
        return None
    if not codes:
        errors.append(
            f"{where}: {at}expansion.contains: the expansion lists no codes. The engine needs "
            "expanded value sets: export them with their expansion (e.g. VSAC's $expand)."
        )
        return None

    name = (value_set.name or "")[:_NAME_MAX]
    title = (value_set.title or "")[:_TITLE_MAX]
    label = title or name or url
    warnings = []
    for system, count in sorted(unknown.items()):
        warnings.append(
            f"{where} “{label}”: {count} code{'s' if count != 1 else ''} in {system}, a code "
            "system the engine does not match: stored, but they will never match."
        )
    if duplicates:
        warnings.append(f"{where} “{label}”: {duplicates} repeated codes counted once.")
    parsed_codes = list(codes.values())
    return ParsedValueSet(
        place=where,
        url=url,
        version=version,
        name=name,
        title=title,
        codes=parsed_codes,
        content_hash=content_hash(
            url=url, version=version, name=name, title=title, codes=parsed_codes
        ),
        warnings=warnings,
    )


def _parse_document(name: str, raw: bytes, errors: list[str]) -> list[ParsedValueSet]:
    document = _parse_json(name, raw, errors)
    if document is None:
        return []
    if not isinstance(document, dict):
        errors.append(
            f"{name}: expected a FHIR Bundle or ValueSet (a JSON object), "
            f"found a JSON {type(document).__name__}."
        )
        return []
    resource_type = document.get("resourceType")
    if resource_type == "ValueSet":
        parsed = _parse_value_set(document, where=name, prefix="", errors=errors)
        return [parsed] if parsed else []
    if resource_type != "Bundle":
        errors.append(
            f"{name}: resourceType: expected a Bundle of ValueSets or a ValueSet, "
            f"found {_short(resource_type) if resource_type is not None else 'none'}."
        )
        return []

    entries = document.get("entry", [])
    if not isinstance(entries, list):
        errors.append(f"{name}: entry: expected a list of entries, found {_short(entries)}.")
        return []
    if not entries:
        errors.append(f"{name}: the Bundle has no entries: there is no ValueSet to load.")
        return []
    value_sets = []
    for index, entry in enumerate(entries):
        where = f"{name}: entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            errors.append(f"{where}: the entry has no resource.")
            continue
        if resource.get("resourceType") != "ValueSet":
            found = resource.get("resourceType")
            errors.append(
                f"{where}: expected a ValueSet, found "
                f"{_short(found) if found is not None else 'a resource without resourceType'}."
            )
            continue
        parsed = _parse_value_set(
            resource,
            where=f"{name}, entry[{index}]",
            prefix="resource",
            errors=errors,
        )
        if parsed:
            value_sets.append(parsed)
    return value_sets


def valuesets_parse(
    *, documents: list[tuple[str, bytes]]
) -> tuple[list[ParsedValueSet], list[str]]:
    """Check every file; the value sets to store (one per url) and the warnings.

    Raises ValidationError with every problem found, each naming its place.
    """
    errors: list[str] = []
    by_url: dict[str, ParsedValueSet] = {}
    for name, raw in documents:
        file_errors: list[str] = []
        parsed_value_sets = _parse_document(name, raw, file_errors)
        if len(file_errors) > MAX_FILE_ERRORS:
            more = len(file_errors) - MAX_FILE_ERRORS
            file_errors[MAX_FILE_ERRORS:] = [f"{name}: ... and {more} more problems."]
        errors.extend(file_errors)
        for parsed in parsed_value_sets:
            earlier = by_url.get(parsed.url)
            if earlier is None:
                by_url[parsed.url] = parsed
            elif earlier.content_hash != parsed.content_hash:
                errors.append(
                    f"{parsed.place}: the same url as {earlier.place} but different content: "
                    "load one of them."
                )
    if errors:
        raise ValidationError(errors)
    value_sets = list(by_url.values())
    return value_sets, [warning for parsed in value_sets for warning in parsed.warnings]


# --- Writing --------------------------------------------------------------------------


def valuesets_load(*, documents: list[tuple[str, bytes]]) -> ValueSetLoadResult:
    """Load FHIR ValueSet expansions (files as name and raw bytes), all or nothing.

    A value set already loaded with the same content is left alone; one whose
    content changed has its codes replaced. Raises ValidationError naming each
    bad place, and then writes nothing.
    """
    if not documents:
        raise ValidationError(["No files given."])
    value_sets, warnings = valuesets_parse(documents=documents)
    result = ValueSetLoadResult(warnings=warnings)
    now = timezone.now()
    try:
        with transaction.atomic():
            existing = {
                value_set.url: value_set
                for value_set in ValueSet.objects.select_for_update().filter(
                    url__in=[parsed.url for parsed in value_sets]
                )
            }
            replaced: list[int] = []
            new_codes: list[ValueSetCode] = []
            for parsed in value_sets:
                stored = existing.get(parsed.url)
                status: Status
                if stored is not None and stored.content_hash == parsed.content_hash:
                    status = "unchanged"
                else:
                    if stored is None:
                        stored = ValueSet(url=parsed.url)
                        status = "loaded"
                    else:
                        replaced.append(stored.pk)
                        status = "updated"
                    stored.version = parsed.version
                    stored.name = parsed.name
                    stored.title = parsed.title
                    stored.content_hash = parsed.content_hash
                    stored.code_count = len(parsed.codes)
                    stored.loaded_at = now
                    stored.save()
                    new_codes.extend(
                        ValueSetCode(
                            value_set=stored,
                            system=code.system,
                            code=code.code,
                            display=code.display,
                        )
                        for code in parsed.codes
                    )
                result.value_sets.append(
                    ValueSetOutcome(
                        url=parsed.url,
                        version=parsed.version,
                        title=parsed.label,
                        code_count=len(parsed.codes),
                        status=status,
                        place=parsed.place,
                    )
                )
            if replaced:
                ValueSetCode.objects.filter(value_set_id__in=replaced).delete()
            ValueSetCode.objects.bulk_create(new_codes, batch_size=BATCH_SIZE)
    except IntegrityError as exc:
        raise ValidationError(
            [
                "Another load of the same value sets ran at the same time: nothing was loaded; "
                "run it again."
            ]
        ) from exc
    return result
