"""A coach works a caseload as a navigator does (issue 16, part 6): no check for "a staff
member who works cases" may name the navigator role alone, or it silently leaves coaches
out. Such checks read `navigator.models.CASEWORK_ROLES` or `User.works_caseload`.

The source is read as text, as tests/project/test_import_graph.py reads imports: a new
navigator-only check anywhere (a view, a template, a selector, a form's choices, an API
permission) fails here, naming the line and what to use instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from navigator.models import CASEWORK_ROLES, Role, User

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "navigator", "outreach", "patients")
SUFFIXES = {".py", ".html", ".txt"}

# Where naming the navigator role alone is deliberate, and why.
ALLOWED = {
    # The definition: the role itself, CASEWORK_ROLES, and the default of a new user.
    "navigator/models/__init__.py": "the roles' definition",
    # A preference between the two casework roles (a screening case goes to a navigator
    # first, a control programme's to a coach), not a gate: both are candidates.
    "navigator/assignment_rules.py": "the assignment preference",
}
# The demo data names who each demo user is.
ALLOWED_DIRS = ("navigator/management/",)

NAVIGATOR_ONLY = [
    (re.compile(r"\bis_navigator\b"), "user.works_caseload"),
    (re.compile(r"\bRole\.NAVIGATOR\b"), "*CASEWORK_ROLES (navigator.models)"),
    (
        re.compile(
            r"""\brole(?:__in|__exact)?\s*(?:==|!=|=|\bin\b)\s*[(\[{]?\s*["']navigator["']"""
        ),
        "role__in=CASEWORK_ROLES / user.works_caseload",
    ),
    (
        re.compile(r"""\b(?:role_required|roles_allowed|has_role)\([^)]*["']navigator["']"""),
        "*CASEWORK_ROLES",
    ),
]


def source_files() -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.suffix not in SUFFIXES or "/migrations/" in relative:
                continue
            if relative in ALLOWED or relative.startswith(ALLOWED_DIRS):
                continue
            files.append(path)
    return files


def navigator_only_checks(text: str) -> list[tuple[int, str, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, instead in NAVIGATOR_ONLY:
            if pattern.search(line):
                found.append((number, line.strip(), instead))
    return found


def test_no_check_anywhere_names_the_navigator_role_alone():
    # Given every module and template of the project (migrations and the allowed above aside)
    problems = []

    # When each line is read for a navigator-only check
    for path in source_files():
        for number, line, instead in navigator_only_checks(path.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(ROOT)}:{number}: {line}  (use {instead})")

    # Then there is none: a coach would be silently left out of each
    assert not problems, "navigator-only checks leave coaches out:\n" + "\n".join(problems)


def test_the_probe_finds_each_kind_of_navigator_only_check():
    # Given lines that each leave a coach out, and lines that do not
    leaving_out = [
        "if user.is_navigator:",
        "{% if user.is_navigator %}",
        "CASE_ROLES = (Role.NAVIGATOR, Role.MANAGER)",
        'User.objects.filter(role__in=("navigator", "manager"))',
        "if user.role == 'navigator':",
        'User.objects.filter(role="navigator")',
        '@role_required("navigator", "manager")',
    ]
    fine = [
        "if user.works_caseload:",
        "CASE_ROLES = (*CASEWORK_ROLES, Role.MANAGER)",
        'name = "navigator"',
        "case.navigator = navigator",
        '("navigator", "0020_coaching"),',
    ]

    # Then the probe finds every one of the first and none of the second
    assert [len(navigator_only_checks(line)) for line in leaving_out] == [1] * len(leaving_out)
    assert [len(navigator_only_checks(line)) for line in fine] == [0] * len(fine)


def test_a_coach_and_a_navigator_both_work_a_caseload_and_no_one_else_does():
    # Given a user of each role
    works = {role: User(role=role).works_caseload for role in Role.values}

    # Then exactly the casework roles work a caseload: navigator and coach
    assert set(CASEWORK_ROLES) == {Role.NAVIGATOR, Role.COACH}
    assert {role for role, yes in works.items() if yes} == {"navigator", "coach"}
    assert Role.COACH.label == "Health coach"
