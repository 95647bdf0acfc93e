"""The worklist as a morning plan, in Chromium: with a demo-sized caseload (a covered
colleague, reminders, tasks due, long names), the first row shows without
scrolling on a 1280×800 laptop and a 390×844 phone; typing in the search box
narrows the rows without a reload, and what was typed never goes into a URL the
browser asks for.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from outreach.models import CaseTask, FollowUpReminder, TaskKind
from outreach.services.attempts import attempt_log
from tests import factories
from tests.support.browser import signed_in_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
FAMILY_NAMES = ["Hernández-Villanueva", "Nguyen", "Okafor", "Ferreira", "Abdullahi", "Lopez"]
GIVEN_NAMES = ["María José", "Thanh", "Chiamaka", "Lucía", "Amina", "Rosa"]


def demo_caseload(navigator, count: int = 60) -> None:
    """Like the demo's María: many open cases across the reasons, some with two
    numbers (one bad), best times, interpreters; a colleague covered; reminders and
    tasks due this morning; one case already tried today."""
    today = timezone.localdate()
    now = timezone.now()
    colleague = factories.NavigatorFactory(user__first_name="Ana", user__last_name="Ruiz")
    factories.CoverageFactory(
        absent=colleague, covering=navigator, starts_on=today, ends_on=today + dt.timedelta(days=5)
    )
    for index in range(count):
        case = factories.CaseFactory(
            navigator=colleague if index % 10 == 9 else navigator,
            patient__family_name=FAMILY_NAMES[index % len(FAMILY_NAMES)],
            patient__given_name=GIVEN_NAMES[index % len(GIVEN_NAMES)],
            patient__preferred_language=["es", "vi", "en", "pt", "so"][index % 5],
            patient__interpreter_needed=index % 5 != 2,
            patient__best_contact_times="Weekday evenings after 6" if index % 2 else "",
            patient__phone=f"+1617555{index:04d}",
            needs_interpreter=index % 5 != 2,
            next_follow_up=today + dt.timedelta(days=(index % 9) - 4),
        )
        if index % 4:
            factories.ContactAttemptFactory(case=case, attempted_at=now - dt.timedelta(days=5))
        if index % 6 == 0:
            factories.ScreeningEventFactory(case=case, result="abnormal")
        if index % 7 == 0:
            factories.CaseBarrierFactory(case=case)
        if index % 3 == 0:
            FollowUpReminder.objects.create(case=case, navigator=navigator, due_on=today)
        if index % 8 == 0:
            CaseTask.objects.create(
                case=case,
                kind=TaskKind.NO_SHOW,
                subject_key=f"demo-{index}",
                due_on=today,
                summary="No-show this morning: call to re-book",
            )
        if index == 0:
            attempt_log(case=case, channel="phone", outcome="no_answer", actor=navigator.user)


def signed_in(browser, live_server, user, viewport: str) -> Page:
    return signed_in_context(browser, live_server.url, user, VIEWPORTS[viewport]).new_page()


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_the_first_row_shows_without_scrolling(browser, live_server, viewport):
    # Given a navigator with a demo-sized morning
    navigator = factories.NavigatorFactory(
        languages=["en", "es"], user__first_name="María", user__last_name="García"
    )
    demo_caseload(navigator)
    page = signed_in(browser, live_server, navigator.user, viewport)

    # When she opens her worklist
    page.goto(f"{live_server.url}/worklist/")

    # Then the first row is wholly on the screen, without scrolling
    first = page.get_by_test_id("worklist-row").first
    expect(first).to_be_visible()
    assert page.evaluate("() => window.scrollY") == 0
    box = first.bounding_box()
    size = VIEWPORTS[viewport]
    assert box is not None
    assert box["y"] >= 0 and box["x"] >= 0
    assert box["y"] + box["height"] <= size["height"], (viewport, box)
    assert box["x"] + box["width"] <= size["width"], (viewport, box)
    # And it has the number to tap, and the count of the morning's calls is above it
    expect(first.get_by_test_id("best-phone")).to_have_attribute(
        "href", re.compile(r"^tel:\+1617555\d{4}$")
    )
    expect(page.get_by_test_id("calls-today")).to_contain_text("Calls due today:")
    expect(page.get_by_test_id("calls-today")).to_be_in_viewport()
    # And the filters are folded away
    expect(page.get_by_label("Program")).to_be_hidden()
    page.context.close()


def test_typing_narrows_the_rows_and_keeps_what_was_typed_out_of_urls(browser, live_server):
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    demo_caseload(navigator, count=12)
    page = signed_in(browser, live_server, navigator.user, "laptop")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/worklist/")
    page.evaluate("window.__marker = 1")
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(12)

    # When she types a name, without pressing Enter
    page.get_by_role("searchbox", name="Search").press_sequentially("Okaf", delay=40)

    # Then the list narrows to the matches in place, and the box keeps every key
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Okafor")
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("Okaf")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    # And no URL the browser asked for, nor its address bar, holds what was typed
    assert not [url for url in requested if "okaf" in url.lower()], requested
    assert "okaf" not in page.url.lower()

    # When she picks a filter, the filters' address is kept, still without the search
    page.get_by_text("Filters and order").click()
    page.get_by_label("Status").select_option("assigned")
    expect(page).to_have_url(f"{live_server.url}/worklist/?status=assigned")
    assert not [url for url in requested if "okaf" in url.lower()], requested
    page.context.close()


def test_the_next_page_of_a_search_keeps_the_search_out_of_the_address(browser, live_server):
    # Given 55 cases, 52 of them of patients named Nguyen
    navigator = factories.NavigatorFactory(languages=["en", "es"])
    for index in range(55):
        factories.CaseFactory(
            navigator=navigator, patient__family_name="Nguyen" if index < 52 else "Okafor"
        )
    page = signed_in(browser, live_server, navigator.user, "laptop")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/worklist/")
    page.evaluate("window.__marker = 1")

    # When she searches for Nguyen and goes to the next page
    page.get_by_role("searchbox", name="Search").fill("Nguyen")
    expect(page.get_by_role("status")).to_contain_text("52 open cases found")
    page.get_by_role("button", name="Next →").click()

    # Then she sees the second page of the search, in place
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.get_by_test_id("worklist-row")).to_have_count(2)
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("Nguyen")
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    assert not [url for url in requested if "nguyen" in url.lower()], requested
    assert "nguyen" not in page.url.lower()
    page.context.close()
