"""WCAG 2.1 AA on the pages people work in, checked by axe-core in Chromium.

axe-core comes from npm (`npm ci --prefix tests/a11y`, run by .ci/run) and is
injected into each page; every page is checked on a 1280×800 laptop and a 390×844
phone, where it must not scroll sideways either. Without axe-core or Chromium the
tests skip, unless REQUIRE_SERVICES=1, when they fail.
"""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import Page, expect

from navigator.models import BarrierType, CaseStatus
from navigator.services import appointments, barriers, notes, screenings
from outreach.models import CallGuide, PatientMessage
from outreach.services import interpreters
from outreach.services.attempts import attempt_log
from outreach.services.navigator_tasks import case_tasks_scan, message_failure_escalate
from patients.models import CareGap, PatientPhone, ScreeningModality
from patients.services import care_gaps
from tests import factories
from tests.support.browser import signed_in_context
from tests.support.fhir import diabetes as diabetes_condition
from tests.support.fhir import ehr_resource, hba1c
from tests.support.paths import AXE
from tests.support.services import need

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Only the violations are read: `resultTypes` spares axe building the full list of passes
# and incomplete checks (a unique selector for every node of every rule), about a third of
# its run, and changes nothing in the violations it returns.
RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    url: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


@pytest.fixture(autouse=True)
def axe_core():
    """Checked before the browser starts (autouse fixtures come first)."""
    need("axe-core", AXE.exists(), f"{AXE} is missing: run npm ci --prefix tests/a11y")


def signed_in(browser, live_server, user, viewport: str) -> Page:
    """A page in a fresh browser context, signed in as `user` through a session cookie."""
    return signed_in_context(browser, live_server.url, user, VIEWPORTS[viewport]).new_page()


@functools.cache
def axe_source() -> str:
    return AXE.read_text()


def violations_on(page: Page) -> list[dict]:
    # Evaluated through the DevTools protocol, not added as a <script> element: the
    # Content Security Policy refuses inline scripts, and the pages are checked under it.
    # Once per document (650 kB to send and compile): a second check of the same page,
    # after an action that did not navigate, finds axe already there.
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE, WCAG_TAGS)


def sideways_scroll(page: Page) -> int:
    """How many pixels the page is wider than the screen (0: it fits)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in found.items():
        for violation in violations:
            lines.append(
                f"{where}: {violation['id']} ({violation['impact']}): {violation['help']} "
                f"<{violation['url']}>"
            )
            for node in violation["nodes"][:8]:
                summary = " ".join((node["summary"] or "").split())
                lines.append(f"    {node['target']}\n      {summary}")
    return "\n".join(lines)


def check(browser, live_server, user, path: str, *, then=None, status: int = 200) -> None:
    """axe finds nothing on `path` at laptop and phone sizes, and it fits the phone."""
    found: dict[str, list[dict]] = {}
    too_wide: dict[str, int] = {}
    for viewport in VIEWPORTS:
        page = signed_in(browser, live_server, user, viewport)
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == status, f"{path}: {response}"
        page.wait_for_load_state("load")
        violations = violations_on(page)
        if violations:
            found[f"{path} {viewport}"] = violations
        if viewport == "phone" and sideways_scroll(page):
            too_wide[f"{path} {viewport}"] = sideways_scroll(page)
        if then is not None:
            label = then(page)
            violations = violations_on(page)
            if violations:
                found[f"{path} {viewport} ({label})"] = violations
            if viewport == "phone" and sideways_scroll(page):
                too_wide[f"{path} {viewport} ({label})"] = sideways_scroll(page)
        page.context.close()
    assert not found, "axe-core found WCAG 2.1 AA violations:\n" + describe(found)
    assert not too_wide, f"pages wider than a phone (pixels too wide): {too_wide}"


# --- The data the pages show ----------------------------------------------------------------


def a_worked_case(navigator):
    """An open case with all a case page can show: phones (one bad), a care gap, barriers,
    an appointment, attempts and notes on the timeline."""
    today = timezone.localdate()
    case = factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Lucía",
        patient__family_name="Ferreira",
        patient__preferred_language="es",
        patient__interpreter_needed=True,
        patient__best_contact_times="Weekday evenings after 6",
        patient__preferred_channel="phone",
        patient__phone="+16175550123",
        needs_interpreter=True,
        assignment_reason="speaks Spanish; 34 of 120 cases",
        next_follow_up=today - dt.timedelta(days=1),
    )
    PatientPhone.objects.create(
        patient=case.patient, number="+16175550999", kind="home", rank=1, is_bad=True
    )
    CareGap.objects.create(
        patient=case.patient,
        program=case.program,
        status="overdue",
        as_of=today,
        summary="No colorectal screening on record; overdue since 2024-01-01",
        reasons=["No colorectal screening on record; overdue since 2024-01-01", "Age 55"],
        overdue_since=dt.date(2024, 1, 1),
        rule_version=1,
    )
    user = navigator.user
    attempt_log(case=case, channel="phone", outcome="no_answer", actor=user)
    attempt_log(case=case, channel="phone", outcome="reached", actor=user, note="Interested")
    barriers.barrier_add(
        case=case,
        barrier_type=BarrierType.objects.get(code="transportation"),
        actor=user,
        note="No car",
    )
    barriers.barrier_add(
        case=case,
        barrier_type=BarrierType.objects.get(code="fear-anxiety"),
        actor=user,
        action="Explained the prep",
    )
    appointments.appointment_book(
        case=case,
        scheduled_at=timezone.now() + dt.timedelta(days=4),
        site="Endoscopy Center",
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
        actor=user,
    )
    notes.case_note_add(case=case, text="Daughter helps with transport", actor=user)
    return case


@pytest.fixture
def navigator(db):
    return factories.NavigatorFactory(
        languages=["en", "es"], user__first_name="Nora", user__last_name="Navigator"
    )


@pytest.fixture
def manager(db):
    return factories.ManagerFactory(first_name="Mona", last_name="Manager")


# --- The pages ------------------------------------------------------------------------------


def test_the_worklist_has_no_accessibility_violations(browser, live_server, navigator):
    a_worked_case(navigator)
    factories.CaseFactory(navigator=navigator, patient__family_name="Diallo")
    factories.CaseFactory(navigator=navigator, status=CaseStatus.CONTACTING)
    check(browser, live_server, navigator.user, "/worklist/")


def test_the_morning_worklist_searched_and_filtered_has_no_accessibility_violations(
    browser, live_server, navigator
):
    # A case tried this morning (its mark, its row below), the count of the day's
    # calls, a covered colleague, and a search typed with the filters unfolded.
    a_worked_case(navigator)
    tried = factories.CaseFactory(
        navigator=navigator,
        patient__given_name="Aminata",
        patient__family_name="Diallo",
        patient__phone="+16175550144",
        next_follow_up=timezone.localdate(),
    )
    attempt_log(case=tried, channel="phone", outcome="no_answer", actor=navigator.user)
    colleague = factories.NavigatorFactory(user__first_name="Ana", user__last_name="Ruiz")
    factories.CoverageFactory(absent=colleague, covering=navigator)
    # Named in full: a random given name ("Diana") would match the search below too.
    factories.CaseFactory(
        navigator=colleague, patient__given_name="Chidi", patient__family_name="Okafor"
    )

    def search_and_unfold(page: Page) -> str:
        page.get_by_text("How counted").click()
        page.get_by_role("searchbox", name="Search").press_sequentially("Dia", delay=30)
        expect(page.get_by_test_id("worklist-row")).to_have_count(1)
        expect(page.get_by_test_id("tried-today")).to_be_visible()
        page.get_by_text("Filters and order").click()
        expect(page.get_by_label("Status")).to_be_visible()
        return "searched, filters unfolded"

    check(browser, live_server, navigator.user, "/worklist/?status=contacting")
    check(browser, live_server, navigator.user, "/worklist/", then=search_and_unfold)


def test_the_case_page_and_its_shortcuts_help_have_no_accessibility_violations(
    browser, live_server, navigator
):
    case = a_worked_case(navigator)

    def open_help(page: Page) -> str:
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        return "shortcuts help open"

    check(browser, live_server, navigator.user, f"/cases/{case.pk}/", then=open_help)


def test_a_diabetes_control_case_with_its_lab_trend_has_no_accessibility_violations(
    browser, live_server, navigator
):
    # The chart (an SVG image with its title, description and table) and the control
    # status badge, at laptop and phone sizes; the table opened too.
    patient = factories.PatientFactory(birth_date=dt.date(1970, 5, 1))
    ehr_resource(patient, diabetes_condition("2019-03-01"))
    today = timezone.localdate()
    for days, value in ((700, 10.1), (500, 9.2), (300, 8.3), (40, 9.4)):
        ehr_resource(patient, hba1c((today - dt.timedelta(days=days)).isoformat(), value))
    care_gaps.care_gaps_recompute(patient_ids=[patient.pk], as_of=today)
    case = factories.CaseFactory(
        patient=patient, program=factories.program("diabetes"), navigator=navigator
    )

    def open_table(page: Page) -> str:
        page.get_by_text("The figures as a table").click()
        expect(
            page.get_by_role("table", name="HbA1c and GMI results, newest first")
        ).to_be_visible()
        return "lab table open"

    check(browser, live_server, navigator.user, f"/cases/{case.pk}/", then=open_table)


def test_the_case_page_with_a_refused_form_has_no_accessibility_violations(
    browser, live_server, navigator
):
    case = a_worked_case(navigator)

    def refuse(page: Page) -> str:
        # Blank to the server, though not to the browser's own check of required fields
        note = page.get_by_test_id("note-form")
        note.get_by_label("Note").fill("   ")
        note.get_by_role("button", name="Add note").click()
        expect(page.get_by_test_id("note-form").get_by_role("alert")).to_be_visible()
        return "note refused"

    check(browser, live_server, navigator.user, f"/cases/{case.pk}/", then=refuse)


def test_the_referral_form_has_no_accessibility_violations(browser, live_server):
    staff = factories.ClinicStaffFactory()
    check(browser, live_server, staff, "/referrals/new/")

    def refuse(page: Page) -> str:
        # Sent empty, past the browser's own check of required fields
        with page.expect_navigation():
            page.get_by_test_id("referral-form").evaluate("form => form.submit()")
        expect(page.get_by_role("alert").first).to_be_visible()
        return "refused"

    check(browser, live_server, staff, "/referrals/new/", then=refuse)


def test_the_managers_dashboards_have_no_accessibility_violations(
    browser, live_server, navigator, manager
):
    a_worked_case(navigator)
    done = factories.CaseFactory(navigator=navigator)
    screenings.case_record_screening(
        case=done,
        modality=ScreeningModality.objects.get(program__code="colorectal", code="fit"),
        performed_on=timezone.localdate(),
        result="normal",
        actor=navigator.user,
    )
    # And two records of one patient, for the duplicates page to list
    twin = factories.PatientFactory(mrn="CHE555001")
    factories.PatientFactory(
        clinic=twin.clinic, mrn=" che555001", given_name=twin.given_name,
        family_name=twin.family_name, birth_date=twin.birth_date,
    )  # fmt: skip
    paths = ["/reports/equity/navigation/", "/care-gaps/", "/cases/", "/patients/duplicates/"]
    for path in ("/team/",):
        try:
            resolve(path)
        except Resolver404:
            continue
        paths.append(path)
    for path in paths:
        check(browser, live_server, manager, path)


def test_the_message_pages_and_a_case_with_tasks_have_no_accessibility_violations(
    browser, live_server, navigator, manager
):
    # Given a case with a prep call due, a kit mailed, and a text that failed for good
    case = a_worked_case(navigator)
    case_tasks_scan()
    failed = PatientMessage.objects.filter(case=case).first()
    PatientMessage.objects.filter(pk=failed.pk).update(
        state="failed", state_reason="gave up after 5 tries", last_error="timed out"
    )
    message_failure_escalate(message_id=failed.pk)

    check(browser, live_server, navigator.user, f"/cases/{case.pk}/")
    for path in ("/messages/", "/programs/colorectal/reminders/", "/letters/"):
        check(browser, live_server, manager, path)


def test_the_interpreter_panel_and_the_language_access_page_have_no_accessibility_violations(
    browser, live_server, navigator, manager
):
    # Given a case with interpreter requests in every status and an ad hoc contact
    case = a_worked_case(navigator)
    user = navigator.user
    later = timezone.now() + dt.timedelta(days=2)
    requests = [
        interpreters.interpreter_request_create(
            case=case, modality=modality, needed_at=later, actor=user, provider="LanguageLine"
        )
        for modality in ("phone", "video", "in_person")
    ]
    interpreters.interpreter_request_update(
        interpreter_request=requests[1], status="confirmed", actor=user
    )
    interpreters.interpreter_request_update(
        interpreter_request=requests[2], status="cancelled", actor=user
    )
    attempt_log(case=case, channel="phone", outcome="reached", interpreted_by="ad_hoc", actor=user)
    attempt_log(
        case=case,
        channel="phone",
        outcome="reached",
        interpreted_by="bilingual_navigator",
        actor=user,
    )

    check(browser, live_server, user, f"/cases/{case.pk}/")
    check(browser, live_server, manager, "/language-access/")


def test_the_case_page_with_its_call_guide_open_and_the_guide_pages_have_no_violations(
    browser, live_server, navigator, manager
):
    # Given a case whose patient speaks Spanish, with a colonoscopy this week
    case = a_worked_case(navigator)

    def open_guide(page: Page) -> str:
        page.get_by_test_id("call-guide").locator("summary").click()
        expect(page.get_by_test_id("call-guide-title")).to_be_visible()
        return "call guide open"

    # Then the case page passes with the guide folded and unfolded, and with another
    # step picked through a link (the panel opens on it)
    check(browser, live_server, navigator.user, f"/cases/{case.pk}/", then=open_guide)
    check(
        browser,
        live_server,
        navigator.user,
        f"/cases/{case.pk}/?guide_step=abnormal_result_call&guide_lang=en",
    )

    # And the managers' list and edit pages pass, the edit page also with its errors
    guide = CallGuide.objects.get(program__code="colorectal", step="prep_call", language="es")

    def refuse(page: Page) -> str:
        form = page.get_by_test_id("call-guide-form")
        form.get_by_label("Talking points").fill("")
        form.get_by_label("What changed and why").fill("")
        with page.expect_navigation():
            form.get_by_role("button", name="Save as a new version").click()
        expect(page.get_by_role("alert").first).to_be_visible()
        return "edit refused"

    check(browser, live_server, manager, "/programs/colorectal/call-guides/")
    check(
        browser,
        live_server,
        manager,
        f"/programs/colorectal/call-guides/{guide.pk}/",
        then=refuse,
    )


def test_the_referral_list_and_page_with_the_loop_have_no_accessibility_violations(
    browser, live_server, navigator
):
    # Given a clinic's referral whose patient was reached and booked, one never opened,
    # one referred outside the criteria, and the daily e-mail turned on
    from navigator.intake.referrals import referral_create
    from navigator.services.referral_digest import referral_digest_preference_set
    from patients.services.patients import PatientInput

    staff = factories.ClinicStaffFactory()
    referral_digest_preference_set(user=staff, enabled=True)

    def refer(mrn: str, sex: str = "female", program: str = "colorectal", override: str = ""):
        return referral_create(
            clinic=staff.clinic,
            program=factories.program(program),
            patient_data=PatientInput(
                mrn=mrn,
                given_name="Ana",
                family_name=f"Lima {mrn}",
                birth_date=dt.date(1966, 4, 30),
                sex=sex,
            ),  # fmt: skip
            referring_clinician="Dr. Patel",
            actor=staff,
            eligibility_override_reason=override,
        )

    worked = refer("A-1")
    attempt_log(case=worked.case_id, channel="phone", outcome="reached", actor=navigator.user)
    appointments.appointment_book(
        case=worked.case_id,
        scheduled_at=timezone.now() + dt.timedelta(days=4),
        site="Endoscopy Center",
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
        actor=navigator.user,
    )
    refer("A-2")
    overridden = refer("A-3", sex="male", program="cervical", override="Trans man with a cervix")

    def search(page: Page) -> str:
        page.get_by_role("searchbox", name="Search").fill("Lima")
        with page.expect_navigation():
            page.get_by_role("button", name="Search").click()
        return "searched"

    check(browser, live_server, staff, "/referrals/")
    check(browser, live_server, staff, "/referrals/?changed=on", then=search)
    check(browser, live_server, staff, f"/referrals/{worked.pk}/")
    check(browser, live_server, staff, f"/referrals/{overridden.pk}/")


def test_all_cases_with_a_search_and_filters_have_no_accessibility_violations(
    browser, live_server, navigator, manager
):
    a_worked_case(navigator)
    factories.CaseFactory(navigator=navigator, patient__family_name="Diallo")

    def search(page: Page) -> str:
        page.get_by_role("searchbox", name="Search").fill("Diallo")
        with page.expect_navigation():
            page.get_by_role("button", name="Search").click()
        return "searched"

    check(browser, live_server, manager, "/cases/?language=en", then=search)


def test_the_follow_up_pages_have_no_accessibility_violations(
    browser, live_server, navigator, manager
):
    # Given results calling for follow-up: one overdue, one proposed for closing, one done
    from navigator.services.follow_ups import follow_up_close_propose

    today = timezone.localdate()
    overdue = factories.CaseFactory(navigator=navigator, status="contacting")
    factories.result_recorded(overdue, performed_on=today - dt.timedelta(days=80))
    proposed = factories.CaseFactory(navigator=navigator, status="contacting")
    factories.result_recorded(proposed, test="fit", performed_on=today - dt.timedelta(days=5))
    follow_up_close_propose(
        case=proposed.pk, reason="moved", note="Moved away", actor=navigator.user
    )
    done = factories.CaseFactory(navigator=navigator, status="contacting")
    factories.result_recorded(done, performed_on=today - dt.timedelta(days=20))
    screenings.case_record_screening(
        case=done.pk,
        modality=ScreeningModality.objects.get(program__code="colorectal", code="colonoscopy"),
        performed_on=today,
        result="normal",
        actor=navigator.user,
    )

    # Then the managers' list, the pathways page, a case waiting (as navigator, with the
    # proposal form open; as manager, with the decision form) and the patient page pass
    check(browser, live_server, manager, "/follow-ups/")
    check(browser, live_server, manager, "/programs/colorectal/pathways/")
    check(
        browser, live_server, navigator.user, f"/cases/{overdue.pk}/",
        then=lambda page: page.get_by_text("Cannot be followed up?").click() or "proposal open",
    )  # fmt: skip
    check(browser, live_server, manager, f"/cases/{proposed.pk}/")
    check(browser, live_server, manager, f"/patients/{overdue.patient_id}/")


def test_the_audit_trail_search_has_no_accessibility_violations(browser, live_server, manager):
    # Given accesses to search: a manager who opened a patient's page
    from django.test import Client

    from navigator.models import Role

    patient = factories.PatientFactory()
    looker = Client()
    looker.force_login(manager)
    looker.get(f"/patients/{patient.pk}/")
    officer = factories.UserFactory(role=Role.COMPLIANCE)

    # Then the search, empty and by that patient, passes axe at both sizes
    check(browser, live_server, officer, "/audit/")
    check(browser, live_server, officer, f"/audit/?patient={patient.pk}")
