"""The permission matrix: the single source of truth for who gets what on every route.

Read by tests/security/test_route_matrix.py (which walks every route of the URL resolver
as every role on every owner's objects, and fails on a route missing here) and by
tests/security/matrix_format.py (which writes the tables in docs/security.md; a test
keeps the doc equal to this file). The format is described in matrix_format.py:

    BY_ACTION = {action: [(route, method, "anon | navigator | staff | manager | admin | audit")]}

with one outcome per role, or four for (own, covered, other navigator's, other clinic's).

Adding a route: run `MATRIX_RECORD=/tmp/m.jsonl pytest tests/security -k <route>` to see
what it answers, decide whether that is right (a navigator must get 404, not 200, for a
case outside their caseload and cover; clinic staff only their clinic's referrals and
patients), write the rule, then `python -m tests.security.matrix_format`.

What the outcomes say about the app today:
- Out-of-scope objects answer 404, never 403: a navigator cannot learn that a case of
  another caseload exists. A role that may never use a route answers 403 before any
  object is looked up (so its four owners agree).
- A health coach gets exactly what a navigator gets, everywhere (each route is walked
  as both; a coach's own objects are their own caseload's and the ones they cover).
- A navigator covering a colleague works the covered caseload exactly as their own
  (case page, writes, tasks, letters, cancelling that cover), but the patient and
  navigator records stay their owners' (404): cover is about cases.
- Clinic staff see no case at all (403), only their own clinic's referrals and
  patients (the other clinic's: 404).
- A patient's whole-record export (right of access) is the manager's alone: even the
  administrator and the compliance officer get 403.
- The compliance officer reads the audit trail (as does the administrator) and nothing
  else that names a patient: no case, patient or referral page; the patient list in the
  API answers, empty.
- The in-scope write with an empty body is refused as input (400) or is a no-op that
  redirects (302); both mean the request reached the work.
"""

from __future__ import annotations

from tests.security.matrix_format import SAME_AS, Rule

WRONG_METHOD = "Send a page the wrong method (e.g. GET to a form's POST address)"

BY_ACTION: dict[str, list[tuple[str, str, str]]] = {
    "Start page (sends each role to its home)": [
        ("home", "GET", "login | 302 | 302 | 302 | 302 | 302"),
        ("home", "POST", "login | 302 | 302 | 302 | 302 | 302"),
    ],
    "Health checks for the load balancer and orchestrator (no data, no session, no audit row)": [
        ("healthz", "GET", "200 | 200 | 200 | 200 | 200 | 200"),
        ("healthz_ready", "GET", "200 | 200 | 200 | 200 | 200 | 200"),
    ],
    "Sign in": [
        ("login", "GET", "200 | 200 | 200 | 200 | 200 | 200"),
        ("login", "POST", "200 | 200 | 200 | 200 | 200 | 200"),
    ],
    "Sign out (then sent to the sign-in page)": [
        ("logout", "POST", "login | login | login | login | login | login"),
    ],
    "Get an API token": [
        ("api:token", "POST", "400 | 400 | 400 | 400 | 400 | 400"),
    ],
    "Manage one's own API tokens (list, revoke one or all; the page). Another's: not found": [
        ("api:token-list", "GET", "401 | 200 | 200 | 200 | 200 | 200"),
        ("api:token-revoke", "DELETE", "401 | 404 | 404 | 404 | 404 | 404"),
        ("api:token-revoke-all", "POST", "401 | 200 | 200 | 200 | 200 | 200"),
        ("api_tokens", "GET", "login | 200 | 200 | 200 | 200 | 200"),
        ("api_tokens", "POST", "login | 302 | 302 | 302 | 302 | 302"),
    ],
    "Ask how long the session has left; stay signed in": [
        ("session_status", "GET", "401 | 200 | 200 | 200 | 200 | 200"),
        ("session_keep_alive", "POST", "401 | 200 | 200 | 200 | 200 | 200"),
    ],
    "Enrol or verify two-factor (verifying without a device, or with it off: sent on)": [
        ("two_factor_enrol", "GET", "login | 200 | 200 | 200 | 200 | 200"),
        ("two_factor_enrol", "POST", "login | 200 | 200 | 200 | 200 | 200"),
        ("two_factor_verify", "GET", "login | 302 | 302 | 302 | 302 | 302"),
        ("two_factor_verify", "POST", "login | 302 | 302 | 302 | 302 | 302"),
    ],
    "Read the API schema and docs": [
        ("api:docs", "GET", "login | 200 | 200 | 200 | 200 | 200"),
        ("api:schema", "GET", "401 | 200 | 200 | 200 | 200 | 200"),
    ],
    "Open the worklist (own caseload)": [
        ("api:worklist", "GET", "401 | 200 | 403 | 403 | 403 | 403"),
        ("navigator:worklist", "GET", "login | 200 | 403 | 403 | 403 | 403"),
        ("navigator:worklist", "POST", "login | 200 | 403 | 403 | 403 | 403"),
    ],
    "Search the worklist (API: the search in the body; a manager names the navigator)": [
        ("api:worklist_search", "POST", "401 | 400 | 403 | 400 | 400 | 403"),
    ],
    "List all cases (page)": [
        ("navigator:case_list", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("navigator:case_list", "POST", "login | 403 | 403 | 200 | 200 | 403"),
    ],
    "List cases (API: a navigator gets their own and covered)": [
        ("api:case-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
    ],
    "Open a case": [
        ("api:case-detail", "GET", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
        ("navigator:case_detail", "GET", "login | 200 200 404 404 | 403 | 200 | 200 | 403"),
        ("outreach:case_letter", "GET", "login | 200 200 404 404 | 403 | 200 | 200 | 403"),
    ],
    "Work a case (calls, notes, barriers, appointments, interpreters, results, status, letters)": [
        ("api:case-appointment-update", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-appointments", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-attempts", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-barrier-update", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-barriers", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-follow-up", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-follow-up-close", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        (
            "api:case-interpreter-request-change",
            "POST",
            "401 | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
        ("api:case-interpreter-requests", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-notes", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-screening", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:case-transition", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:appointment_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:appointment_update", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:attempt_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:barrier_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:barrier_update", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:case_transition", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:case_group_enrol", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:coaching_book", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        (
            "navigator:coaching_goal_create",
            "POST",
            "login | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
        (
            "navigator:coaching_goal_review",
            "POST",
            "login | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
        ("navigator:coaching_update", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:lab_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:lab_fix", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        (
            "navigator:follow_up_close_propose",
            "POST",
            "login | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
        ("navigator:follow_up_set", "POST", "login | 302 302 404 404 | 403 | 302 | 302 | 403"),
        ("navigator:interpreter_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:interpreter_update", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:kit_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:note_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("navigator:screening_create", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("outreach:case_letter_mark", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("outreach:unreachable_propose", "POST", "login | 400 400 404 404 | 403 | 400 | 400 | 403"),
    ],
    "Confirm or dismiss a proposed closing (manager's safety net)": [
        ("api:case-follow-up-close-confirm", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
        ("api:case-follow-up-close-dismiss", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
        ("api:case-unreachable-confirm", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
        ("api:case-unreachable-dismiss", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
        ("navigator:follow_up_close_confirm", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("navigator:follow_up_close_dismiss", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("outreach:unreachable_confirm", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("outreach:unreachable_dismiss", "POST", "login | 403 | 403 | 400 | 400 | 403"),
    ],
    "Reassign a case": [
        ("api:case-assign", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
        ("navigator:case_assign", "POST", "login | 403 | 403 | 400 | 400 | 403"),
    ],
    "See a case's tasks": [
        ("api:task-detail", "GET", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
        ("api:task-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
    ],
    "Close a task (API)": [
        ("api:task-done", "POST", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
    ],
    "Close a task from the case page (the task is named in the form: 404 without one)": [
        ("navigator:task_done", "POST", "login | 404 | 403 | 404 | 404 | 403"),
    ],
    "See follow-up reminders": [
        ("api:reminder-detail", "GET", "401 | 200 404 404 404 | 403 | 200 | 200 | 403"),
        ("api:reminder-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
    ],
    "List open result follow-ups": [
        ("navigator:follow_up_list", "GET", "login | 403 | 403 | 200 | 200 | 403"),
    ],
    "Open a patient": [
        (
            "api:patient-care-gaps",
            "GET",
            "401 | 200 404 404 404 | 200 200 200 404 | 200 | 200 | 404",
        ),
        ("api:patient-detail", "GET", "401 | 200 404 404 404 | 200 200 200 404 | 200 | 200 | 404"),
        (
            "patients:patient_detail",
            "GET",
            "login | 200 404 404 404 | 200 200 200 404 | 200 | 200 | 403",
        ),
    ],
    "Find a patient by MRN (API: the MRN in the body; the answer is scoped)": [
        ("api:patient-search", "POST", "401 | 400 | 400 | 400 | 400 | 400"),
    ],
    "List patients": [
        ("api:patient-list", "GET", "401 | 200 | 200 | 200 | 200 | 200"),
    ],
    "List care gaps": [
        ("patients:care_gap_list", "GET", "login | 403 | 403 | 200 | 200 | 403"),
    ],
    "Find and merge duplicate patients": [
        ("patients:patient_duplicates", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("patients:patient_merge", "POST", "login | 403 | 403 | 400 | 400 | 403"),
    ],
    "List referrals": [
        ("api:referral-list", "GET", "401 | 403 | 200 | 200 | 200 | 403"),
        ("patients:referral_list", "GET", "login | 403 | 200 | 200 | 200 | 403"),
        ("patients:referral_list", "POST", "login | 403 | 200 | 200 | 200 | 403"),
    ],
    "Open a referral (page)": [
        (
            "patients:referral_detail",
            "GET",
            "login | 200 404 404 404 | 200 200 200 404 | 200 | 200 | 403",
        ),
    ],
    "Open a referral (API)": [
        ("api:referral-detail", "GET", "401 | 403 | 200 200 200 404 | 200 | 200 | 403"),
    ],
    "Refer patients (form, upload, template)": [
        ("api:referral-list", "POST", "401 | 403 | 400 | 400 | 400 | 403"),
        ("api:referral-upload", "POST", "401 | 403 | 400 | 400 | 400 | 403"),
        ("api:referral-upload-template", "GET", "401 | 403 | 200 | 200 | 200 | 403"),
        ("patients:referral_create", "GET", "login | 403 | 200 | 200 | 200 | 403"),
        ("patients:referral_create", "POST", "login | 403 | 400 | 400 | 400 | 403"),
        ("patients:referral_upload", "GET", "login | 403 | 200 | 200 | 200 | 403"),
        ("patients:referral_upload", "POST", "login | 403 | 400 | 400 | 400 | 403"),
        ("patients:referral_upload_template", "GET", "login | 403 | 200 | 200 | 200 | 403"),
    ],
    "Follow a referral upload's import job (progress, result); another clinic's: not found": [
        ("api:referral-upload-job", "GET", "401 | 403 | 200 200 200 404 | 200 | 200 | 403"),
        (
            "patients:referral_upload_job",
            "GET",
            "login | 403 | 200 200 200 404 | 200 | 200 | 403",
        ),
        (
            "patients:referral_upload_job_progress",
            "GET",
            "login | 403 | 200 200 200 404 | 200 | 200 | 403",
        ),
    ],
    "Set the referral digest preference": [
        ("patients:referral_digest_preference", "POST", "login | 403 | 302 | 403 | 302 | 403"),
    ],
    "See navigator profiles": [
        ("api:navigator-detail", "GET", "401 | 200 404 404 404 | 403 | 200 | 200 | 403"),
        ("api:navigator-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
    ],
    "See the team": [
        ("api:team", "GET", "401 | 403 | 403 | 200 | 200 | 403"),
        ("navigator:team", "GET", "login | 403 | 403 | 200 | 200 | 403"),
    ],
    "Rebalance caseloads": [
        ("api:navigator-rebalance", "POST", "401 | 403 | 403 | 201 | 201 | 403"),
        ("navigator:navigator_rebalance", "POST", "login | 403 | 403 | 400 | 400 | 403"),
    ],
    "See and arrange cover": [
        ("navigator:coverage", "GET", "login | 200 | 403 | 200 | 200 | 403"),
        ("navigator:coverage", "POST", "login | 400 | 403 | 400 | 400 | 403"),
    ],
    "Cancel a cover": [
        ("navigator:coverage_cancel", "POST", "login | 302 302 404 404 | 403 | 302 | 302 | 403"),
    ],
    "See the group class series (a timetable) and print a roster (own and covered patients)": [
        ("navigator:group_series_list", "GET", "login | 200 | 403 | 200 | 200 | 403"),
        ("navigator:group_series_detail", "GET", "login | 200 | 403 | 200 | 200 | 403"),
        ("navigator:group_roster_print", "GET", "login | 200 | 403 | 200 | 200 | 403"),
    ],
    "Set up a group class series and its sessions (manager)": [
        ("navigator:group_series_create", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("navigator:group_series_create", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("navigator:group_session_create", "POST", "login | 403 | 403 | 400 | 400 | 403"),
    ],
    "Enrol a patient in a group series (a navigator: from their caseload)": [
        ("navigator:group_enrol", "POST", "login | 400 | 403 | 400 | 400 | 403"),
    ],
    "Enrol a control case's patient in the next series in a language, from the worklist "
    "(own and covered cases)": [
        (
            "navigator:worklist_group_enrol",
            "POST",
            "login | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
    ],
    "Withdraw a patient from a group series, or mark it completed": [
        (
            "navigator:group_enrolment_status",
            "POST",
            "login | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
    ],
    "Take a group session's attendance (its facilitator or a manager; to others not found)": [
        ("navigator:group_attendance", "GET", "login | 404 | 403 | 200 | 200 | 403"),
        ("navigator:group_attendance", "POST", "login | 404 | 403 | 400 | 400 | 403"),
    ],
    "Coaching API: list and open a case's individual sessions and goals (own and covered)": [
        ("api:coaching-session-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:coaching-session-detail", "GET", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
        ("api:coaching-goal-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:coaching-goal-detail", "GET", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
    ],
    "Coaching API: book a session (a case of one's own or covered caseload, in the body)": [
        ("api:coaching-session-list", "POST", "401 | 400 | 403 | 400 | 400 | 403"),
    ],
    "Coaching API: record what became of a session, set a goal in it, review a goal": [
        (
            "api:coaching-session-set-status",
            "POST",
            "401 | 400 400 404 404 | 403 | 400 | 400 | 403",
        ),
        ("api:coaching-session-goals", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
        ("api:coaching-goal-review", "POST", "401 | 400 400 404 404 | 403 | 400 | 400 | 403"),
    ],
    "Coaching API: the group class series and their sessions (a timetable)": [
        ("api:group-series-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:group-series-detail", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:group-session-detail", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
    ],
    "Coaching API: roster rows (own and covered patients'), enrol, withdraw": [
        ("api:group-enrolment-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:group-enrolment-detail", "GET", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
        ("api:group-enrolment-list", "POST", "401 | 400 | 403 | 400 | 400 | 403"),
        # Withdrawing needs nothing in the body: the empty request does it.
        ("api:group-enrolment-withdraw", "POST", "401 | 200 200 404 404 | 403 | 200 | 200 | 403"),
    ],
    "Coaching API: record attendance (the series' facilitator or a manager; to others not found)": [
        ("api:group-session-attendance", "POST", "401 | 404 | 403 | 400 | 400 | 403"),
    ],
    "Read equity reports": [
        ("api:equity", "GET", "401 | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity", "GET", "login | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity_csv", "GET", "login | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity_navigation", "GET", "login | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity_navigation_csv", "GET", "login | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity_pdf", "GET", "login | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity_control", "GET", "login | 200 | 200 | 200 | 200 | 403"),
        ("navigator:equity_control_csv", "GET", "login | 200 | 200 | 200 | 200 | 403"),
    ],
    "Ask for an equity report period": [
        ("api:equity-periods", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
    ],
    "Read data-quality reports": [
        ("navigator:equity_quality", "GET", "login | 403 | 200 | 200 | 200 | 403"),
        ("navigator:equity_quality_csv", "GET", "login | 403 | 200 | 200 | 200 | 403"),
    ],
    "Read completion and measure reports": [
        ("api:completion-report", "GET", "401 | 403 | 403 | 400 | 400 | 403"),
        ("api:measure-report", "GET", "401 | 403 | 403 | 400 | 400 | 403"),
    ],
    "Old completion-report address (redirects to the equity navigation page)": [
        ("navigator:report", "GET", "login | 302 | 302 | 302 | 302 | 403"),
    ],
    "Configure a program (rules, pathways, protocol, reminders, call guides)": [
        ("outreach:call_guide_edit", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("outreach:call_guide_edit", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("outreach:call_guides", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("outreach:call_guides", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("outreach:program_protocol", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("outreach:program_protocol", "POST", "login | 403 | 403 | 400 | 400 | 403"),
        ("outreach:program_rules", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("outreach:program_rules", "POST", "login | 403 | 403 | 404 | 404 | 403"),
        ("patients:program_pathways", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("patients:program_pathways", "POST", "login | 403 | 403 | 404 | 404 | 403"),
        ("patients:program_rules", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("patients:program_rules", "POST", "login | 403 | 403 | 400 | 400 | 403"),
    ],
    "Read screening programs (API)": [
        ("api:program-detail", "GET", "401 | 200 | 200 | 200 | 200 | 200"),
        ("api:program-list", "GET", "401 | 200 | 200 | 200 | 200 | 200"),
    ],
    "Read call guides and barrier types (API)": [
        ("api:barrier-type-detail", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:barrier-type-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:call-guide-detail", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
        ("api:call-guide-list", "GET", "401 | 200 | 403 | 200 | 200 | 403"),
    ],
    "See patient messages and language access": [
        ("outreach:language_access", "GET", "login | 403 | 403 | 200 | 200 | 403"),
        ("outreach:message_list", "GET", "login | 403 | 403 | 200 | 200 | 403"),
    ],
    "Retry or cancel a patient message": [
        ("outreach:message_cancel", "POST", "login | 403 | 403 | 302 | 302 | 403"),
        ("outreach:message_retry", "POST", "login | 403 | 403 | 302 | 302 | 403"),
    ],
    "Print the day's letter batch": [
        ("outreach:letter_batch_pdf", "GET", "login | 403 | 403 | 404 | 404 | 403"),
        ("outreach:letter_batch_print", "POST", "login | 403 | 403 | 302 | 302 | 403"),
        ("outreach:letter_batches", "GET", "login | 403 | 403 | 200 | 200 | 403"),
    ],
    "Import from an EHR (FHIR)": [
        ("api:fhir-import", "POST", "401 | 403 | 403 | 400 | 400 | 403"),
    ],
    "Follow a FHIR bulk import (jobs, progress, rejected lines)": [
        ("api:fhir-bulk-import-detail", "GET", "401 | 403 | 403 | 200 | 200 | 403"),
        ("api:fhir-bulk-import-list", "GET", "401 | 403 | 403 | 200 | 200 | 403"),
    ],
    "SMS provider webhooks (signed by the provider; no user)": [
        ("api:sms-inbound", "POST", "403 | 403 | 403 | 403 | 403 | 403"),
        ("api:sms-status", "POST", "403 | 403 | 403 | 403 | 403 | 403"),
    ],
    "Export a patient's whole record (right of access, for the manager who handles it)": [
        ("api:patient-right-of-access-fhir", "POST", "401 | 403 | 403 | 200 | 403 | 403"),
        ("api:patient-right-of-access-pdf", "POST", "401 | 403 | 403 | 200 | 403 | 403"),
        ("navigator:patient_export_fhir", "POST", "login | 403 | 403 | 200 | 403 | 403"),
        ("navigator:patient_export_pdf", "POST", "login | 403 | 403 | 200 | 403 | 403"),
    ],
    "Search the audit trail (who looked at which patient, what a user looked at)": [
        ("audit:patient_lookup", "POST", "login | 403 | 403 | 403 | 200 | 200"),
        ("audit:search", "GET", "login | 403 | 403 | 403 | 200 | 200"),
        ("audit:search", "POST", "login | 403 | 403 | 403 | 200 | 200"),
    ],
    WRONG_METHOD: [
        ("healthz", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("healthz_ready", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("session_keep_alive", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("session_status", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("api:docs", "POST", "login | 405 | 405 | 405 | 405 | 405"),
        ("logout", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:appointment_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:appointment_update", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:attempt_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:barrier_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:barrier_update", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:case_assign", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:case_group_enrol", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:coaching_book", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:coaching_goal_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:coaching_goal_review", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:coaching_update", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:lab_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:lab_fix", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:case_detail", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:case_transition", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:coverage_cancel", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_csv", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_navigation", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_navigation_csv", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_pdf", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_control", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_control_csv", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_quality", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:equity_quality_csv", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:follow_up_close_confirm", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:follow_up_close_dismiss", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:follow_up_close_propose", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:follow_up_list", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:follow_up_set", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:group_enrol", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:worklist_group_enrol", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:group_enrolment_status", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:group_roster_print", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:group_series_detail", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:group_series_list", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:group_session_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:interpreter_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:interpreter_update", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:kit_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:navigator_rebalance", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:note_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:report", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:screening_create", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:task_done", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:team", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:case_letter", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:case_letter_mark", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:language_access", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:letter_batch_pdf", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:letter_batch_print", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:letter_batches", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:message_cancel", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:message_list", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:message_retry", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:unreachable_confirm", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:unreachable_dismiss", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("outreach:unreachable_propose", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:care_gap_list", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:patient_detail", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:patient_duplicates", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:patient_merge", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:referral_detail", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:referral_digest_preference", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:referral_upload_template", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:referral_upload_job", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("patients:referral_upload_job_progress", "POST", "405 | 405 | 405 | 405 | 405 | 405"),
        ("audit:patient_lookup", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:patient_export_fhir", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
        ("navigator:patient_export_pdf", "GET", "405 | 405 | 405 | 405 | 405 | 405"),
    ],
}

RULES: list[Rule] = [
    Rule(route, method, action, spec)
    for action, rules in BY_ACTION.items()
    for route, method, spec in rules
]

# Routes whose URL names an object that belongs to someone: walked once per owner.
OWNED_ROUTES: set[str] = {
    "api:coaching-goal-detail",
    "api:coaching-goal-review",
    "api:coaching-session-detail",
    "api:coaching-session-goals",
    "api:coaching-session-set-status",
    "api:group-enrolment-detail",
    "api:group-enrolment-withdraw",
    "api:patient-right-of-access-fhir",
    "api:patient-right-of-access-pdf",
    "navigator:patient_export_fhir",
    "navigator:patient_export_pdf",
    "api:case-appointment-update",
    "api:case-appointments",
    "api:case-assign",
    "api:case-attempts",
    "api:case-barrier-update",
    "api:case-barriers",
    "api:case-detail",
    "api:case-follow-up",
    "api:case-follow-up-close",
    "api:case-follow-up-close-confirm",
    "api:case-follow-up-close-dismiss",
    "api:case-interpreter-request-change",
    "api:case-interpreter-requests",
    "api:case-notes",
    "api:case-screening",
    "api:case-transition",
    "api:case-unreachable-confirm",
    "api:case-unreachable-dismiss",
    "api:navigator-detail",
    "api:navigator-rebalance",
    "api:patient-care-gaps",
    "api:patient-detail",
    "api:referral-detail",
    "api:referral-upload-job",
    "api:reminder-detail",
    "api:task-detail",
    "api:task-done",
    "navigator:appointment_create",
    "navigator:appointment_update",
    "navigator:attempt_create",
    "navigator:barrier_create",
    "navigator:barrier_update",
    "navigator:case_assign",
    "navigator:case_group_enrol",
    "navigator:coaching_book",
    "navigator:coaching_goal_create",
    "navigator:coaching_goal_review",
    "navigator:coaching_update",
    "navigator:lab_create",
    "navigator:lab_fix",
    "navigator:case_detail",
    "navigator:case_transition",
    "navigator:coverage_cancel",
    "navigator:follow_up_close_confirm",
    "navigator:follow_up_close_dismiss",
    "navigator:follow_up_close_propose",
    "navigator:follow_up_set",
    "navigator:group_enrolment_status",
    "navigator:interpreter_create",
    "navigator:interpreter_update",
    "navigator:kit_create",
    "navigator:note_create",
    "navigator:screening_create",
    "navigator:task_done",
    "navigator:worklist_group_enrol",
    "outreach:case_letter",
    "outreach:case_letter_mark",
    "outreach:message_cancel",
    "outreach:message_retry",
    "outreach:unreachable_confirm",
    "outreach:unreachable_dismiss",
    "outreach:unreachable_propose",
    "patients:patient_detail",
    "patients:referral_detail",
    "patients:referral_upload_job",
    "patients:referral_upload_job_progress",
}

# The admin site (its index and every model's changelist): only staff get in; everyone
# else is sent to the admin's own sign-in. The administrator role alone is not enough:
# `seed_demo` makes its administrator staff and superuser, as the world here does.
ADMIN_FAMILY: dict[str, str] = {
    "anonymous": "login",
    "navigator": "login",
    "clinic_staff": "login",
    "manager": "login",
    "admin": "200",
    "compliance": "login",
}

# Whose patients a role may see named anywhere (a page, a CSV, a JSON body): the leak
# probe in the route test looks for every other owner's patient in each response.
PATIENTS_VISIBLE: dict[str, tuple[str, ...]] = {
    "anonymous": (),
    "navigator": ("own", "covered"),
    "clinic_staff": ("own", "covered", "other_navigator"),
    "manager": ("own", "covered", "other_navigator", "other_clinic"),
    "admin": ("own", "covered", "other_navigator", "other_clinic"),
    # The audit trail names patients only when searched: the page itself names nobody.
    "compliance": (),
}

# A health coach gets what a navigator gets (matrix_format.SAME_AS), in their own corner
# of the world (tests/security/world.py VIEWS): the same answers for their own caseload,
# the one they cover today, another navigator's and another clinic's.
for _role, _like in SAME_AS.items():
    ADMIN_FAMILY[_role] = ADMIN_FAMILY[_like]
    PATIENTS_VISIBLE[_role] = PATIENTS_VISIBLE[_like]
