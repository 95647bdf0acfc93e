"""Security headers on every page (issue 14, item 5), and templates the Content
Security Policy can serve: no inline script, event-handler attribute or inline style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATE_DIRS = sorted(
    {*Path(settings.BASE_DIR).glob("*/templates"), Path(settings.BASE_DIR) / "config" / "templates"}
)
# Django template comments may mention what they avoid.
COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)
FORBIDDEN = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "an event-handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "an inline style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
    "a <style> element": re.compile(r"<style\b", re.IGNORECASE),
}


def test_the_policy_allows_only_our_own_origin_and_nothing_inline(client, manager):
    client.force_login(manager)

    response = client.get(reverse("navigator:team"))

    header = response["Content-Security-Policy"]
    policy = dict(directive.strip().split(" ", 1) for directive in header.split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in header


def test_the_sign_in_page_has_the_policy_and_the_other_headers_too(client):
    response = client.get(reverse("login"))

    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    features = dict(item.split("=") for item in response["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"


def test_the_api_docs_load_their_script_from_a_url_not_inline(client, manager):
    client.force_login(manager)

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    assert b"/api/docs/?script=" in page.content
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def template_files() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_the_template_scan_sees_the_templates():
    names = {path.name for path in template_files()}
    assert {"base.html", "worklist.html", "team.html", "swagger_ui.html"} <= names


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_no_template_has_markup_the_policy_refuses(what):
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)[:80]}"
        for path in template_files()
        for match in FORBIDDEN[what].finditer(COMMENTS.sub("", path.read_text()))
    ]

    assert found == [], f"{what} in: {found}"


def test_the_scan_would_catch_each_kind():
    # A scan that finds nothing must be able to find something.
    samples = {
        "an inline script": '<script defer>alert(1)</script><script src="/x.js"></script>',
        "an event-handler attribute": '<button type="button" onclick="go()">',
        "an inline style attribute": '<span class="bar" style="width: 5%">',
        "a <style> element": "<style>p{}</style>",
    }
    for what, sample in samples.items():
        assert len(FORBIDDEN[what].findall(sample)) == 1, what
