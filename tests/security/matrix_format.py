"""How the permission matrix is written, read and turned into the table in docs/security.md.

A rule is one (route, method): the action it serves (the doc's row label) and what each
role gets, written as six parts separated by ``|`` in the order of SPEC_ROLES (anonymous,
navigator, clinic staff, manager, administrator, compliance officer). A role of SAME_AS
is not written: it gets what the role it names gets, and is walked like every other
(the health coach works a caseload exactly as a navigator does, issue 16). A part is one
outcome, the same for every owner, or four: for the owners own, covered, other
navigator's, other clinic's (see tests/security/world.py). An outcome is an HTTP
status, or ``login`` for a redirect to a sign-in page.

No Django here: `python -m tests.security.matrix_format` rewrites the doc's section.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import NamedTuple

# The roles a rule writes an outcome for, in its order.
SPEC_ROLES = ("anonymous", "navigator", "clinic_staff", "manager", "admin", "compliance")
# Roles that get exactly what another gets on every route (and are tested on every one).
SAME_AS = {"coach": "navigator"}
# Every role the matrix walks.
ROLES = (*SPEC_ROLES, *SAME_AS)
ROLE_TITLES = {
    "anonymous": "Anonymous",
    "navigator": "Navigator",
    "coach": "Health coach",
    "clinic_staff": "Clinic staff",
    "manager": "Manager",
    "admin": "Administrator",
    "compliance": "Compliance officer",
}
OWNERS = ("own", "covered", "other_navigator", "other_clinic")
OWNER_TITLES = {
    "none": "",
    "own": "own",
    "covered": "of a navigator they cover today",
    "other_navigator": "of another navigator (same clinic)",
    "other_clinic": "of another clinic",
}
# Outcomes that mean the request reached the work (a 400 is the handler checking input).
REACHED = {"200", "201", "204", "302", "400", "409"}
REFUSED = {"login", "401", "403", "404", "405"}

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
BEGIN = "<!-- permission-matrix:begin (generated from tests/security/permission_matrix.py) -->"
END = "<!-- permission-matrix:end -->"


class Rule(NamedTuple):
    route: str
    method: str
    action: str
    spec: str

    def outcomes(self, owned: bool) -> dict[tuple[str, str], str]:
        """(role, owner) -> outcome; owner is "none" for a route without an owned object."""
        parts = [part.split() for part in self.spec.split("|")]
        if len(parts) != len(SPEC_ROLES):
            raise ValueError(
                f"{self.route} {self.method}: {len(parts)} parts, not {len(SPEC_ROLES)}"
            )
        table: dict[tuple[str, str], str] = {}
        for role, tokens in zip(SPEC_ROLES, parts, strict=True):
            for token in tokens:
                if token not in REACHED | REFUSED:
                    raise ValueError(f"{self.route} {self.method}: unknown outcome {token!r}")
            if not owned:
                if len(tokens) != 1:
                    raise ValueError(f"{self.route} {self.method}: {role} needs one outcome")
                table[(role, "none")] = tokens[0]
            elif len(tokens) == 1:
                table.update({(role, owner): tokens[0] for owner in OWNERS})
            elif len(tokens) == len(OWNERS):
                table.update(dict(zip(((role, o) for o in OWNERS), tokens, strict=True)))
            else:
                raise ValueError(f"{self.route} {self.method}: {role} needs 1 or 4 outcomes")
        for role, like in SAME_AS.items():
            table.update(
                {(role, owner): got for (of, owner), got in list(table.items()) if of == like}
            )
        return table


def spec_of(outcomes: dict[tuple[str, str], str], owned: bool) -> str:
    """The shortest spec for observed outcomes (used to write a new rule)."""
    parts = []
    for role in SPEC_ROLES:
        if not owned:
            parts.append(outcomes[(role, "none")])
            continue
        tokens = [outcomes[(role, owner)] for owner in OWNERS]
        parts.append(tokens[0] if len(set(tokens)) == 1 else " ".join(tokens))
    return " | ".join(parts)


def _word(outcome: str) -> str:
    if outcome in REACHED:
        return "yes"
    if outcome in {"login", "401"}:
        return "sign in"
    return f"no ({outcome})"


def _cell(outcomes: list[str]) -> str:
    words = sorted({_word(outcome) for outcome in outcomes}, key=_rank)
    return " / ".join(words)


def _rank(word: str) -> tuple[int, str]:
    return (0 if word.startswith("yes") else 1 if word == "sign in" else 2, word)


def action_table(rules: list[Rule], owned_routes: set[str]) -> str:
    """Markdown: one row per (action, owner), one column per role."""
    rows: dict[str, dict[str, dict[str, list[str]]]] = {}
    for rule in rules:
        owned = rule.route in owned_routes
        for (role, owner), outcome in rule.outcomes(owned).items():
            cells = rows.setdefault(rule.action, {}).setdefault(owner, {})
            cells.setdefault(role, []).append(outcome)
    header = "| Action | " + " | ".join(ROLE_TITLES[role] for role in SPEC_ROLES) + " |"
    lines = [header, "|" + " --- |" * (len(SPEC_ROLES) + 1)]
    for action in rows:
        for owner in ("none", *OWNERS):
            if owner not in rows[action]:
                continue
            label = action if owner == "none" else f"{action}: {OWNER_TITLES[owner]}"
            cells = [_cell(rows[action][owner][role]) for role in SPEC_ROLES]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def route_table(rules: list[Rule]) -> str:
    """Markdown: every (route, method) with its exact outcomes, grouped by action."""
    lines = [
        "| Action | Route | Method | " + " | ".join(ROLE_TITLES[r] for r in SPEC_ROLES) + " |",
        "|" + " --- |" * (len(SPEC_ROLES) + 3),
    ]
    for rule in sorted(rules, key=lambda r: (r.action, r.route, r.method)):
        parts = [part.strip() for part in rule.spec.split("|")]
        lines.append(
            f"| {rule.action} | `{rule.route}` | {rule.method} | " + " | ".join(parts) + " |"
        )
    return "\n".join(lines)


def admin_row(admin_family: dict[str, str]) -> str:
    cells = [_cell([admin_family[role]]) for role in SPEC_ROLES]
    return "| Use the admin site (its index and every changelist) | " + " | ".join(cells) + " |"


def same_as_sentence() -> str:
    """The roles not given a column, in words: each is walked on every route too."""
    return " ".join(
        f"A {ROLE_TITLES[role].lower()} gets exactly what a {ROLE_TITLES[like].lower()} "
        "gets, on every route and every owner's objects (each is tested as both); their "
        f"own objects are the {ROLE_TITLES[role].lower()}'s own caseload and the ones they "
        "cover today."
        for role, like in SAME_AS.items()
    )


def generated_section(
    rules: list[Rule], owned_routes: set[str], admin_family: dict[str, str]
) -> str:
    return "\n\n".join(
        [
            BEGIN,
            "### What each role may do",
            "*yes*: the request reaches the work (an empty write there is answered 400, "
            "its input refused); *sign in*: sent to sign in (pages) or 401 (API); "
            "*no (403)*: the role may never do this; *no (404)*: the object is outside "
            "the role's scope and answers as if it did not exist.",
            same_as_sentence(),
            action_table(rules, owned_routes) + "\n" + admin_row(admin_family),
            "### Every route (exact outcomes)",
            "Four outcomes in a cell are for the owners own, covered, another "
            "navigator's, another clinic's; one outcome is the same for all. "
            "`login` is a redirect to a sign-in page.",
            route_table(rules),
            END,
        ]
    )


def doc_with_section(doc: str, section: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(doc):
        raise ValueError(f"{DOC} has no generated permission-matrix section")
    return pattern.sub(lambda _match: section, doc)


def main() -> None:
    from tests.security.permission_matrix import ADMIN_FAMILY, OWNED_ROUTES, RULES

    section = generated_section(RULES, OWNED_ROUTES, ADMIN_FAMILY)
    DOC.write_text(doc_with_section(DOC.read_text(), section))
    sys.stdout.write(f"{DOC}: permission matrix rewritten ({len(RULES)} rules)\n")


if __name__ == "__main__":
    main()
