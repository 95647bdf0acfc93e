"""OperationOutcome issues: how every import problem is reported."""

from __future__ import annotations

from typing import Any

Issue = dict[str, Any]


# The refusal of an import into a clinic's staff-entry source (FhirSource.kind).
NOT_A_FEED = (
    "“{key}” holds the labs staff enter from outside reports, not an EHR feed's data; "
    "nothing is imported into it."
)


def issue(
    diagnostics: str,
    expression: str | None = None,
    *,
    severity: str = "error",
    code: str = "invalid",
) -> Issue:
    answer: Issue = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        answer["expression"] = [expression]
    return answer


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


class FhirImportError(Exception):
    """The input cannot be imported; nothing was written. `issues` names each problem."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(i["diagnostics"] for i in issues[:5]))
        self.issues = issues

    @property
    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)
