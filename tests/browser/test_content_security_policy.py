"""The Content Security Policy holds in Chromium (issue 14, item 5): the pages that
use HTMX most (the worklist's search and filters, an action on the case page, the
team page's capacity bars, the equity dashboard) and the API docs run without one
violation or console error, while the policy does refuse an inline style."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.support.browser import signed_in_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Runs in every document before its own scripts: keeps each violation the page reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


class Watched:
    """A signed-in page whose console errors, page errors and CSP violations are kept."""

    def __init__(self, browser, live_server, user) -> None:
        context = signed_in_context(browser, live_server.url, user)
        context.add_init_script(RECORD_VIOLATIONS)
        self.page: Page = context.new_page()
        self.console_errors: list[str] = []
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.console_errors.append(message.text),
        )
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations")

    def assert_clean(self) -> None:
        assert self.violations() == []
        assert self.console_errors == []


def test_the_htmx_pages_run_without_a_csp_violation(browser, live_server):
    # Given a navigator with cases, one named Okafor
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    for family_name in ["Okafor", "Nguyen", "Lopez"]:
        factories.CaseFactory(navigator=navigator, patient__family_name=family_name)
    case = factories.CaseFactory(navigator=navigator, patient__family_name="Ferreira")
    watched = Watched(browser, live_server, navigator.user)
    page = watched.page

    # When she opens her worklist, the policy is the one the server sends
    response = page.goto(f"{live_server.url}/worklist/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(4)

    # And she types in the search box (HTMX swaps the rows), leaves it, and picks a filter
    search = page.get_by_role("searchbox", name="Search")
    search.press_sequentially("Okaf", delay=40)
    expect(rows).to_have_count(1)
    page.get_by_text("Filters and order").click()
    page.get_by_label("Status").select_option("assigned")
    expect(page).to_have_url(f"{live_server.url}/worklist/?status=assigned")
    # Then nothing was refused, and nothing failed
    watched.assert_clean()

    # When she adds a note on a case page (swapped in by HTMX)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    note_form = page.get_by_test_id("note-form")
    note_form.get_by_role("textbox").fill("Asked about transport")
    note_form.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Asked about transport").first).to_be_visible()
    # Then nothing was refused there either
    watched.assert_clean()
    page.context.close()


def test_the_manager_pages_and_api_docs_run_without_a_csp_violation(browser, live_server):
    # Given a manager and a team with a navigator who has cases
    manager = factories.ManagerFactory()
    factories.CaseFactory()
    watched = Watched(browser, live_server, manager)
    page = watched.page

    # When they open the team page (its capacity bars) and the equity dashboard
    page.goto(f"{live_server.url}/team/")
    expect(page.locator("svg.capacity-bar rect").first).to_be_attached()
    watched.assert_clean()
    page.goto(f"{live_server.url}/reports/equity/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    watched.assert_clean()

    # And the API docs, whose script now comes from a URL, render the operations
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    # Then nothing was refused
    watched.assert_clean()
    page.context.close()


def test_the_policy_does_refuse_an_inline_style(browser, live_server):
    # Given a signed-in page (the listener above is the one the other tests rely on)
    watched = Watched(browser, live_server, factories.ManagerFactory())
    page = watched.page
    page.goto(f"{live_server.url}/team/")

    # When markup with an inline style attribute arrives, as a careless template would send it
    page.evaluate(
        """document.body.insertAdjacentHTML(
            "beforeend", '<p id="styled" style="color: red">x</p>'
        )"""
    )

    # Then the browser refuses the style and reports it
    expect(page.locator("#styled")).to_be_attached()
    page.wait_for_function("window.__cspViolations.length > 0")
    assert any("style-src" in violation for violation in watched.violations())
    page.context.close()
