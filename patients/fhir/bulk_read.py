"""FHIR Bulk Data, reading: the export's files (a folder or an $export manifest), their
batches by byte offsets, and each NDJSON line checked as a bundle entry is.

A line is checked with the same rules as a resource of a bundle (`validate.py`,
`identity.py`, `patient_mapping.py`); a bad line becomes a `LineRejection` with
its line number and a specific reason, and never stops the file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as PydanticValidationError

from patients.fhir.fast_check import plainly_valid
from patients.fhir.identity import REFERENCE, resource_identity
from patients.fhir.outcome import Issue
from patients.fhir.parse import CLINICAL_TYPES, BundleItem, resource_digest
from patients.fhir.patient_mapping import map_patient
from patients.fhir.validate import FHIR_ID, check_codes, is_resource_type, problem_message

IMPORTED_TYPES = frozenset({"Patient", *CLINICAL_TYPES})
# "Patient.ndjson", "Patient.000.ndjson", "Patient-2.ndjson", "1.Patient.ndjson" (exporters vary).
_TYPE_IN_NAME = re.compile(r"([A-Z][A-Za-z]+)")
MAX_LINE_BYTES = 4 * 1024 * 1024


class BulkSourceError(Exception):
    """The folder or manifest cannot be read at all (nothing is queued)."""


@dataclass(frozen=True)
class ExportFile:
    resource_type: str
    path: Path
    skipped_reason: str = ""


@dataclass
class LineRejection:
    line: int
    reason: str


def export_files(location: Path) -> list[ExportFile]:
    """The NDJSON files of an export: a folder's *.ndjson, or a manifest's `output`."""
    if location.is_dir():
        found = sorted(
            p
            for p in location.iterdir()
            if p.suffix == ".ndjson" and (p.is_symlink() or p.is_file())
        )
        if not found:
            raise BulkSourceError(f"{location.name}: no .ndjson files in the folder.")
        files = []
        for path in found:
            _inside(path, location, f"{location.name}: {path.name[:100]}")
            match = _TYPE_IN_NAME.search(path.stem)
            files.append(_export_file(match.group(1) if match else "", path))
        return files
    if not location.is_file():
        raise BulkSourceError(f"{location}: no such file or folder.")
    try:
        manifest = json.loads(location.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BulkSourceError(f"{location.name}: not a JSON $export manifest ({error}).") from None
    output = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(output, list):
        raise BulkSourceError(f"{location.name}: the manifest has no “output” list.")
    files = []
    for index, entry in enumerate(output):
        if not isinstance(entry, dict) or not entry.get("type") or not entry.get("url"):
            raise BulkSourceError(f"{location.name}: output[{index}] needs a type and a url.")
        url = str(entry["url"])
        if url.startswith(("http://", "https://")):
            raise BulkSourceError(
                f"{location.name}: output[{index}] is a remote URL; download the files first."
            )
        path = Path(url.removeprefix("file://"))
        if not path.is_absolute():
            path = location.parent / path
        _inside(path, location.parent, f"{location.name}: output[{index}]")
        files.append(_export_file(str(entry["type"]), path))
    return files


def _inside(path: Path, folder: Path, said: str) -> None:
    """Refuse a file outside the export's folder (an absolute path elsewhere, "../", a
    link out of it) or a symbolic link: an export reads its own files, never another
    clinic's export or the server's."""
    if path.is_symlink():
        raise BulkSourceError(f"{said} is a symbolic link; copy the file into the export.")
    resolved = path.resolve()
    if not resolved.is_relative_to(folder.resolve()):
        raise BulkSourceError(f"{said} is outside the export's folder.")


def _export_file(resource_type: str, path: Path) -> ExportFile:
    if resource_type not in IMPORTED_TYPES:
        said = f"“{resource_type[:64]}”" if resource_type else "no resource type in its name"
        return ExportFile(resource_type or "?", path, f"Not imported: {said}.")
    return ExportFile(resource_type, path)


def file_chunks(path: Path, batch_size: int) -> tuple[list[tuple[int, int, int, int]], str]:
    """(first line, start offset, end offset, lines) per batch, or a reason the file is refused.

    One pass over the bytes, a line at a time and never more than MAX_LINE_BYTES of it
    held; a file whose first line is not a JSON object (a pretty-printed Bundle, a
    CSV, ...) is not NDJSON and is refused whole.
    """
    chunks: list[tuple[int, int, int, int]] = []
    try:
        with _open(path) as handle:
            first, _ = _next_line(handle)
            if first is None:
                return [], f"Not NDJSON: line 1 is longer than {_MAX_SAID}."
            if not _looks_like_ndjson(first):
                return [], "Not NDJSON: line 1 is not a JSON resource on one line."
            handle.seek(0)
            start = offset = count = line = 0
            first_line = 1
            while size := _next_line(handle)[1]:
                offset += size
                count += 1
                line += 1
                if count == batch_size:
                    chunks.append((first_line, start, offset, count))
                    first_line, start, count = line + 1, offset, 0
            if count:
                chunks.append((first_line, start, offset, count))
    except OSError as error:
        return [], f"Cannot be read ({error.strerror or error})."
    return chunks, ""


_MAX_SAID = f"{MAX_LINE_BYTES // (1024 * 1024)} MB"


def _open(path: Path) -> BinaryIO:
    # O_NOFOLLOW: a file swapped for a symbolic link after the job was created is refused.
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")


def _next_line(handle: BinaryIO) -> tuple[bytes | None, int]:
    """The next line without its "\n" (or "\r\n"), and the bytes it took; (b"", 0) at the
    end. A line over MAX_LINE_BYTES is None: its bytes are skipped a piece at a time,
    never held whole. Lines end at "\n" only: a bare "\r" is JSON whitespace."""
    raw = handle.readline(MAX_LINE_BYTES + 2)  # room for "\r\n"
    size = len(raw)
    if size == MAX_LINE_BYTES + 2 and not raw.endswith(b"\n"):
        while (piece := handle.readline(MAX_LINE_BYTES)) and not piece.endswith(b"\n"):
            size += len(piece)
        return None, size + len(piece)
    line = raw.removesuffix(b"\n").removesuffix(b"\r")
    return (None if len(line) > MAX_LINE_BYTES else line), size


def _looks_like_ndjson(first: bytes) -> bool:
    try:
        document = json.loads(first.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and "resourceType" in document


def chunk_lines(path: Path, start: int, end: int) -> list[bytes | None]:
    """The batch's lines, None for one over MAX_LINE_BYTES (never read whole). NDJSON
    lines end at "\n" only, as the chunking pass counts them: a bare "\r" is JSON
    whitespace inside a line, where splitlines() would cut it."""
    lines: list[bytes | None] = []
    with _open(path) as handle:
        handle.seek(start)
        position = start
        while position < end:
            line, size = _next_line(handle)
            if not size:
                break
            lines.append(line)
            position += size
    return lines


def line_read(
    raw: bytes, number: int, file_type: str
) -> tuple[BundleItem | None, list[Issue], LineRejection | None]:
    """One NDJSON line as a bundle entry would be read: (item, warnings) or a rejection.

    The patient reference of a clinical resource is read here (`patient_ref`) and
    resolved against the feed by the batch (one query).
    """
    where = f"{file_type}.ndjson line {number}"

    def reject(reason: str) -> tuple[None, list[Issue], LineRejection]:
        return None, [], LineRejection(number, reason[:500])

    if not raw.strip():
        return reject("Empty line.")
    try:
        resource = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        detail = getattr(error, "msg", "not UTF-8")
        return reject(f"Not valid JSON ({detail}).")
    except RecursionError:
        return reject("The JSON is nested too deeply.")
    except ValueError:
        # Python refuses to convert an integer of more than 4300 digits (a denial of
        # service guard); JSONDecodeError, also a ValueError, is caught above.
        return reject("A number in it is too long to read (over 4300 digits).")
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return reject("Not a FHIR resource: a JSON object with a resourceType.")
    resource_type = resource["resourceType"]
    if resource_type != file_type:
        kind = "a" if is_resource_type(resource_type) else "not a FHIR resource type,"
        return reject(
            f"resourceType “{resource_type[:64]}” ({kind} resource) in the {file_type} file."
        )
    if not resource.get("id"):
        # $export always writes ids; an NDJSON line has no fullUrl or request to fall back on.
        return reject(f"The {file_type} has no id.")
    try:
        # The cheap check accepts only what the model would; anything else (and every
        # refusal's wording) is the model's.
        if not plainly_valid(resource):
            get_fhir_model_class(resource_type).model_validate(resource)
    except PydanticValidationError as error:
        said = [
            f"{problem_message(detail)} [{_loc(detail['loc'])}]" for detail in error.errors()[:5]
        ]
        return reject("Not valid FHIR R4: " + "; ".join(said))
    resource_id, problem = resource_identity({}, resource, "", where)
    if problem is not None:
        return reject(problem["diagnostics"])
    if not FHIR_ID.match(resource_id):
        return reject(f"“{resource_id[:80]}” is not a valid FHIR id.")
    item = BundleItem(where, resource_type, resource_id, resource, resource_digest(resource))
    if resource_type == "Patient":
        mapped, problems = map_patient(resource, where)
        errors = [p for p in problems if p["severity"] == "error"]
        if errors:
            return reject("; ".join(p["diagnostics"] for p in errors[:5]))
        item.mapped = mapped
        return item, [p for p in problems if p["severity"] != "error"], None
    field_name = CLINICAL_TYPES[resource_type]
    reference = str((resource.get(field_name) or {}).get("reference") or "")
    match = REFERENCE.search(reference)
    if not reference:
        return reject(f"The {resource_type} names no patient ({field_name}).")
    if match is None:
        return reject(f"{field_name} “{reference[:100]}” is not a reference we can resolve.")
    if match.group(1) != "Patient":
        return reject(f"{field_name} must refer to a Patient, not a {match.group(1)}.")
    item.patient_ref = match.group(2)
    return item, check_codes(resource, where), None


def _loc(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
