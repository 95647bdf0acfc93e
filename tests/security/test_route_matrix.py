"""Least privilege, proven (issue 14, item 4): every route of the project, as every role
and anonymous, on objects of the user's own, of a navigator they cover, of another
navigator and of another clinic, gets exactly what tests/security/permission_matrix.py
says; and a route that is not in the matrix fails the suite. The health coach is walked
on every route too, from a corner of their own, and gets exactly the navigator's answers.

Routes come from the URL resolver. The admin site is one family: its index and every
model's changelist. GET is the read; POST (with an empty body) is the write: a refused
write must change nothing. Each case is one test, named route-method-role-owner.

The world is built once for the module inside a transaction rolled back at its end;
each test runs in a savepoint of its own (pytest-django's `db`), so a write that gets
through is undone before the next test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.test.client import ClientHandler
from django.urls import reverse

from navigator.models import User
from tests.security.matrix_format import (
    DOC,
    OWNERS,
    REFUSED,
    ROLES,
    Rule,
    doc_with_section,
    generated_section,
)
from tests.security.permission_matrix import ADMIN_FAMILY, OWNED_ROUTES, PATIENTS_VISIBLE, RULES
from tests.security.watched import snapshot
from tests.security.world import (
    MARKERS,
    NONE,
    NOTE_MARKER,
    OWNED_PARAMS,
    Route,
    World,
    build_world,
    corner_key,
    owner_seen,
    routes,
)

# MATRIX_RECORD=path writes what each case got there instead of checking it (to draft
# rules for a new route: every outcome must still be read and judged before it goes in).
RECORD = os.environ.get("MATRIX_RECORD")
SAFE = ("GET",)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ALL_ROUTES = routes()
PROJECT_ROUTES = [route for route in ALL_ROUTES if not route.is_admin]
RULE_BY_KEY = {(rule.route, rule.method): rule for rule in RULES}


def methods_of(route: Route) -> tuple[str, ...]:
    """The methods a route answers: a DRF view's own; GET and POST for any other view.
    HEAD is GET without the body (DRF adds it to a viewset's actions on first request)."""
    actions = getattr(route.callback, "actions", None)
    if actions:
        return tuple(sorted(method.upper() for method in actions if method != "head"))
    view_class = getattr(route.callback, "cls", None)
    if view_class is not None:
        return tuple(m.upper() for m in HTTP_METHODS if hasattr(view_class, m))
    return ("GET", "POST")


def admin_paths() -> list[tuple[str, str]]:
    """(label, path) for the admin index and every registered model's changelist."""
    paths = [("admin:index", reverse("admin:index"))]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        paths.append((name, reverse(name)))
    return paths


def cases() -> Iterator[object]:
    for route in PROJECT_ROUTES:
        for method in methods_of(route):
            for role in ROLES:
                for owner in OWNERS if route.owned else (NONE,):
                    yield pytest.param(
                        route, method, role, owner, id=f"{route.name}-{method}-{role}-{owner}"
                    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        # Signed in once for the module: the sessions live in the outer transaction.
        built.sessions = {role: _session(user) for role, user in built.users.items()}
        # What every test starts from (each runs in a savepoint rolled back at its end),
        # taken once: a refused write's test compares its snapshot after with this.
        built.baseline = snapshot()
        built.handler = ClientHandler(enforce_csrf_checks=False)
        yield built
        transaction.set_rollback(True)


def _session(user: User | None) -> str | None:
    if user is None:
        return None
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def client_as(world: World, role: str) -> Client:
    """A fresh client on the role's session (a logout in one test must not sign the
    next test's client out: the cookie jar is not rolled back with the database)."""
    client = Client()
    # The handler (the middleware chain, built on its first request) is the module's:
    # building it for each of ~3,000 clients was about 4% of the module's time.
    client.handler = world.handler
    session = world.sessions[role]
    if session is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = session
    return client


def outcome(response) -> str:
    if response.status_code in (301, 302, 303):
        return "login" if "/login/" in response["Location"] else "302"
    return str(response.status_code)


def leaked(response, role: str) -> list[str]:
    """The corners whose patient a response names although `role` may not see them."""
    if response.status_code != 200 or "pdf" in response.get("Content-Type", ""):
        return []
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode("utf-8", "replace")
    hidden = [key for key in MARKERS if owner_seen(role, key) not in PATIENTS_VISIBLE[role]]
    found = [key for key in hidden if any(marker in body for marker in MARKERS[key])]
    if role in ("anonymous", "clinic_staff") and NOTE_MARKER in body:
        found.append("a case note")
    return found


def record(key: str, value: str) -> None:
    assert RECORD
    with open(RECORD, "a", encoding="utf-8") as out:
        out.write(json.dumps([key, value]) + "\n")


# --- No route left out --------------------------------------------------------------------


def test_every_route_of_the_resolver_has_a_rule_for_every_method_it_answers():
    wanted = {(route.name, method) for route in PROJECT_ROUTES for method in methods_of(route)}
    missing = sorted(wanted - RULE_BY_KEY.keys())
    stale = sorted(RULE_BY_KEY.keys() - wanted)
    assert not missing, f"routes without a permission rule (decide them in the matrix): {missing}"
    assert not stale, f"rules for routes or methods that no longer exist: {stale}"
    assert len(RULE_BY_KEY) == len(RULES), "a (route, method) has two rules"


def test_the_matrix_knows_which_routes_name_an_owned_object():
    owned = {route.name for route in PROJECT_ROUTES if route.owned}
    assert owned == OWNED_ROUTES


def test_every_route_name_is_unique_and_every_admin_route_is_in_the_admin_family():
    names = [route.name for route in PROJECT_ROUTES]
    assert len(names) == len(set(names)), "two routes share a name: the matrix cannot tell"
    assert all(route.name.startswith("admin:") for route in ALL_ROUTES if route.is_admin)


def test_every_rule_parses():
    for rule in RULES:
        assert isinstance(rule, Rule)
        rule.outcomes(rule.route in OWNED_ROUTES)


# --- Every route, method, role and owner -------------------------------------------------


@pytest.mark.parametrize(("route", "method", "role", "owner"), list(cases()))
def test_each_role_gets_what_the_matrix_says(world, db, route, method, role, owner):
    # Given the route named for this owner's object
    url = reverse(route.name, kwargs=world.kwargs(route, owner, role))
    rule = RULE_BY_KEY.get((route.name, method))
    expected = rule.outcomes(route.owned)[(role, owner)] if rule and not RECORD else None
    # A write the matrix says is refused must change nothing (others are undone anyway):
    # the world after it must be the world every test starts from.
    watch = method not in SAFE and expected in REFUSED

    # When this role sends the method (a write with an empty body)
    response = getattr(client_as(world, role), method.lower())(url)
    got = outcome(response)

    # Then the outcome is the matrix's, and a refused write changed nothing
    key = f"{route.name}|{method}|{role}|{owner}"
    leaks = leaked(response, role)
    if RECORD:
        record(key, got)
        if leaks:
            record(f"LEAK {key}", ",".join(leaks))
        return
    assert not leaks, f"{key}: names patients of {leaks}, which {role} may not see"
    assert expected is not None, f"{route.name} {method} has no rule"
    assert got == expected, f"{key}: got {got}, the matrix says {expected}"
    if watch:
        assert snapshot() == world.baseline, f"{key}: refused ({got}) but changed data"


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_site_family_is_only_for_staff(world, db, role):
    # The admin index and every changelist, as this role
    client = client_as(world, role)
    responses = {name: client.get(path) for name, path in admin_paths()}
    got = {name: outcome(response) for name, response in responses.items()}
    if RECORD:
        for name, value in got.items():
            record(f"{name}|GET|{role}|none", value)
        return
    expected = ADMIN_FAMILY[role]
    wrong = {name: value for name, value in got.items() if value != expected}
    assert not wrong, f"{role}: the admin family should answer {expected}, got {wrong}"


# --- The doc ----------------------------------------------------------------------------


def test_the_tables_in_docs_security_md_are_generated_from_the_matrix():
    doc = DOC.read_text()
    expected = doc_with_section(doc, generated_section(RULES, OWNED_ROUTES, ADMIN_FAMILY))
    assert doc == expected, "docs/security.md is stale: run python -m tests.security.matrix_format"


# --- The other unsafe methods -----------------------------------------------------------

OTHER_WRITES = ("PUT", "PATCH", "DELETE")
# Who is out of scope on a route's objects: nobody signed in, and the navigator, the
# coach and the clinic staff on another clinic's objects.
OUTSIDERS = ("anonymous", "navigator", "coach", "clinic_staff")


@pytest.mark.parametrize("route", PROJECT_ROUTES, ids=lambda route: route.name)
def test_put_patch_and_delete_are_refused_to_outsiders_and_change_nothing(world, db, route):
    # Given the route, named for another clinic's object where it names one
    owner = "other_clinic" if route.owned else NONE
    url = reverse(route.name, kwargs=world.kwargs(route, owner))
    got = {}

    # When anonymous and an out-of-scope navigator send PUT, PATCH and DELETE
    for role in OUTSIDERS:
        # Each role from no rate limit used, as each role's test in the matrix starts
        # (four roles' twelve requests would pass the token endpoint's limit: a 429).
        cache.clear()
        for method in OTHER_WRITES:
            response = getattr(client_as(world, role), method.lower())(url)
            got[f"{route.name}|{method}|{role}|{owner}"] = outcome(response)

    # Then each is refused, or answered as the route's GET (a view that reads on any
    # method, like the login page), and nothing changed
    if RECORD:
        for key, value in got.items():
            record(key, value)
        return
    read = RULE_BY_KEY.get((route.name, "GET"))
    wrong = {}
    for key, value in got.items():
        role = key.split("|")[2]
        as_get = read.outcomes(route.owned)[(role, owner)] if read else None
        if value not in REFUSED and value != as_get:
            wrong[key] = value
    assert not wrong, f"not refused: {wrong}"
    assert snapshot() == world.baseline


# --- The leak probe can see ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("manager", "/api/patients/"),
        ("navigator", "/api/cases/"),
        ("navigator", "/worklist/"),
        ("coach", "/api/cases/"),
        ("coach", "/worklist/"),
        ("clinic_staff", "/referrals/"),
        ("clinic_staff", "/api/patients/"),
    ],
)
def test_the_leak_probe_finds_the_patients_a_role_may_see_where_they_are_listed(
    world, db, role, path
):
    # Given a list the role may read
    response = client_as(world, role).get(path)
    body = response.content.decode()

    # Then it names exactly the patients the matrix says the role may see: the probe
    # that looks for the others would have found them
    assert response.status_code == 200
    named = {owner for owner in OWNERS if MARKERS[corner_key(role, owner)][0] in body}
    assert named == set(PATIENTS_VISIBLE[role])


def test_the_leak_probe_finds_a_case_note_on_the_case_page(world, db):
    body = client_as(world, "navigator").get(
        reverse("navigator:case_detail", kwargs={"pk": world.corners["own"].objects["case"].pk})
    )
    assert NOTE_MARKER in body.content.decode()


# --- An object of one case named under another --------------------------------------------

# (A coverage, an upload and a group enrolment are not addressed under a case: no case
# in their address; the matrix proves another caseload's enrolment is not found.)
SUB_OBJECT_ROUTES = [
    route
    for route in PROJECT_ROUTES
    if set(route.params) & OWNED_PARAMS - {"coverage_id", "upload_id", "enrolment_id"}
]


@pytest.mark.parametrize("role", ("navigator", "coach", "manager"))
@pytest.mark.parametrize("route", SUB_OBJECT_ROUTES, ids=lambda route: route.name)
def test_a_barrier_appointment_or_interpreter_request_of_another_case_is_not_found_under_ones_own(
    world, db, route, role
):
    # Given the user's own case, and another navigator's barrier (appointment, request)
    kwargs = world.kwargs(route, "own", role)
    theirs = world.kwargs(route, "other_navigator", role)
    mixed = {**kwargs, **{param: theirs[param] for param in route.params if param != "pk"}}

    # When the user writes to it under their own case's address
    response = client_as(world, role).post(reverse(route.name, kwargs=mixed))

    # Then it is not found there, and nothing changed
    assert outcome(response) == "404"
    assert snapshot() == world.baseline


# --- A search finds only what the role may see ------------------------------------------


@pytest.mark.parametrize("role", [role for role in ROLES if role != "anonymous"])
def test_a_patient_search_by_mrn_finds_only_the_patients_the_role_may_see(world, db, role):
    # Given each owner's patient's MRN
    client = client_as(world, role)
    found = set()

    # When the role searches for each (the empty-body case in the matrix is only a 400)
    for owner in OWNERS:
        response = client.post(
            reverse("api:patient-search"),
            {"mrn": MARKERS[corner_key(role, owner)][1]},
            content_type="application/json",
        )
        assert response.status_code == 200, (owner, response.content)
        if response.json():
            found.add(owner)

    # Then it finds a patient only where the role may see one; a navigator's covered
    # colleague's patient stays theirs, as on the patient page (404 there)
    covering = role in ("navigator", "coach")
    visible = set(PATIENTS_VISIBLE[role]) - ({"covered"} if covering else set())
    assert found == visible
