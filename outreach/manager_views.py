"""Program managers' pages for patient messages: what failed or was held back (and
retrying or cancelling it), escalations, texts nobody could be matched to, and the
programs' reminder and task rules; and language access (who interpreted contacts)."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from navigator.models import Role
from navigator.permissions import AuthedRequest, role_required
from outreach import selectors
from outreach.forms import LanguageAccessForm, ReminderRuleForm, TaskRuleForm
from outreach.messaging import manager_actions
from outreach.models import MessageState, ReminderTrigger, TaskKind
from outreach.services import rules
from outreach.services.navigator_tasks import RULED_KINDS
from patients.models import ProgramKind, ScreeningProgram

PAGE_SIZE = 50
PROBLEM_STATES = {
    "": ("Failed or suppressed", (MessageState.FAILED, MessageState.SUPPRESSED)),
    MessageState.FAILED: ("Failed", (MessageState.FAILED,)),
    MessageState.SUPPRESSED: ("Suppressed", (MessageState.SUPPRESSED,)),
}


def _error_text(error: ValidationError) -> str:
    return " ".join(message for messages_ in error.message_dict.values() for message in messages_)


@require_GET
@role_required(Role.MANAGER)
def message_list(request: AuthedRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    program_code = request.GET.get("program", "")
    programs = selectors.programs_by_name()
    if state not in PROBLEM_STATES or (
        program_code and program_code not in {program.code for program in programs}
    ):
        return render(
            request,
            "outreach/messages.html",
            {"error": "Choose a state and a program from the lists.", "programs": programs,
             "states": PROBLEM_STATES, "page": None},
            status=400,
        )  # fmt: skip
    rows = selectors.problem_messages(
        user=request.user, states=PROBLEM_STATES[state][1], program_code=program_code
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "outreach/messages.html",
        {
            "page": page,
            "state": state,
            "program_code": program_code,
            "programs": programs,
            "states": PROBLEM_STATES,
            "escalations": selectors.open_escalations(user=request.user)[:PAGE_SIZE],
            "unmatched": selectors.unmatched_texts(user=request.user)[:PAGE_SIZE],
            "retryable": manager_actions.RETRYABLE_STATES,
        },
    )


@require_GET
@role_required(Role.MANAGER)
def language_access(request: AuthedRequest) -> HttpResponse:
    """Who interpreted contacts with patients of limited English proficiency: the share
    with a qualified interpreter by navigator and language, and every ad hoc use."""
    form = LanguageAccessForm(request.GET, id_prefix="language")
    if not form.is_valid():
        return render(request, "outreach/language_access.html", {"form": form}, status=400)
    report = selectors.language_access(
        user=request.user, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
    )
    scopes = [
        ("reached", "Contacts that reached the patient"),
        ("all", "All attempts (reached or not)"),
    ]
    return render(
        request,
        "outreach/language_access.html",
        {
            "form": form,
            "report": report,
            "sections": [
                {
                    "id": scope,
                    "title": title,
                    "overall": report.overall[scope],
                    "by_navigator": report.by_navigator[scope],
                    "by_language": report.by_language[scope],
                }
                for scope, title in scopes
            ],
        },
    )


def _back(request: AuthedRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("outreach:message_list")
    return redirect(target)


def _message_action(request: AuthedRequest, pk: int, action, done: str) -> HttpResponse:
    message = selectors.message_for_manager(user=request.user, message_id=pk)
    if message is None:
        raise Http404("No such message.")
    try:
        action(message=message, actor=request.user)
    except ValidationError as error:
        messages.error(request, f"Message #{pk}: {_error_text(error)}")
    else:
        messages.success(request, f"Message #{pk} {done}.")
    return _back(request)


@require_POST
@role_required(Role.MANAGER)
def message_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    return _message_action(request, pk, manager_actions.message_retry, "will be sent again now")


@require_POST
@role_required(Role.MANAGER)
def message_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _message_action(request, pk, manager_actions.message_cancel, "cancelled")


# --- Rules -----------------------------------------------------------------------------------


def _rule_groups(program: ScreeningProgram, bound: dict[str, object]) -> list[dict[str, object]]:
    """The reminder rules by trigger, in the triggers' order, each rule with its form. A
    control programme's page always has the coaching triggers (its sessions and
    classes), saying so when none of its rules sends anything before them."""
    rows_by_trigger: dict[str, list] = {}
    for rule in selectors.reminder_rules_of(program):
        form = bound.get(f"rule:{rule.pk}") or ReminderRuleForm.for_rule(
            rule, prefix=f"rule{rule.pk}"
        )
        rows_by_trigger.setdefault(rule.trigger, []).append((rule, form))
    always = rules.COACHING_TRIGGERS if program.kind == ProgramKind.CONTROL else ()
    return [
        {"trigger": trigger, "rows": rows_by_trigger.get(trigger, [])}
        for trigger in ReminderTrigger
        if trigger in rows_by_trigger or trigger in always
    ]


def _rule_forms(program: ScreeningProgram, bound: dict[str, object]):
    rule_groups = _rule_groups(program, bound)
    task_rules = selectors.task_rules_by_kind(program)
    task_rows = []
    for kind in RULED_KINDS:
        existing = task_rules.get(kind)
        initial = {
            "days": existing.days if existing else 0,
            "active": bool(existing and existing.active),
        }
        form = bound.get(f"task:{kind}") or TaskRuleForm(prefix=f"task-{kind}", initial=initial)
        task_rows.append((TaskKind(kind), existing, form))
    new_form = bound.get("new") or ReminderRuleForm(prefix="new", program=program)
    return rule_groups, task_rows, new_form


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def program_rules(request: AuthedRequest, code: str) -> HttpResponse:
    """A program's reminder rules (patient messages) and task rules (navigator tasks and
    escalations), each editable in place; every change is logged."""
    program = selectors.program_by_code(code)
    if program is None:
        raise Http404("No such program.")
    bound: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        which = request.POST.get("form", "")
        try:
            saved = _save_rule(request, program, which, bound)
        except ValidationError as error:
            form = bound.get(which)
            if isinstance(form, (ReminderRuleForm, TaskRuleForm)):
                form.add_service_error(error)
            status = 400
        else:
            if saved is not None:
                messages.success(request, saved)
                return redirect(reverse("outreach:program_rules", args=[code]))
            status = 400
    rule_groups, task_rows, new_form = _rule_forms(program, bound)
    return render(
        request,
        "outreach/program_rules.html",
        {
            "program": program,
            "rule_groups": rule_groups,
            "task_rows": task_rows,
            "new_form": new_form,
            "history": selectors.rule_history(program),
        },
        status=status,
    )


def _save_rule(request: AuthedRequest, program: ScreeningProgram, which: str, bound) -> str | None:
    """Validate and save the one form posted; a notice, or None (its form has the errors)."""
    if which.startswith("task:"):
        kind = which.removeprefix("task:")
        if kind not in RULED_KINDS:
            raise Http404("No such task rule.")
        form = TaskRuleForm(request.POST, prefix=f"task-{kind}")
        bound[which] = form
        if not form.is_valid():
            return None
        changed = rules.task_rule_save(
            program=program, actor=request.user, kind=kind, days=form.cleaned_data["days"],
            active=form.cleaned_data["active"],
        )  # fmt: skip
        return f"{TaskKind(kind).label}: saved." if changed else "Nothing changed."
    rule = None
    if which.startswith("rule:"):
        rule_id = which.removeprefix("rule:")
        rule = selectors.reminder_rule_of(
            program=program, rule_id=int(rule_id) if re.fullmatch(r"[0-9]{1,18}", rule_id) else 0
        )
        if rule is None:
            raise Http404("No such reminder rule.")
        form = ReminderRuleForm(request.POST, prefix=f"rule{rule.pk}", program=program)
    elif which == "new":
        form = ReminderRuleForm(request.POST, prefix="new", program=program)
    else:
        raise Http404("No such form.")
    bound[which] = form
    if not form.is_valid():
        return None
    data = form.cleaned_data
    changed = rules.reminder_rule_save(
        program=program, actor=request.user, rule=rule, trigger=data["trigger"],
        kind=data["kind"], days=data["days"], at_time=data["at_time"], channel=data["channel"],
        modality=data["modality"], priority=data["priority"], active=data["active"],
    )  # fmt: skip
    if changed is None:
        return "Nothing changed."
    return "Reminder rule added." if rule is None else "Reminder rule saved."
