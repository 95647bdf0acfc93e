"""Referral pages, for referring clinics and program managers.

Clinic staff see their own clinic's referrals and where each one stands in plain
words (`navigator.selectors.referrals`: the navigator and how to reach them, the
step, the day of the last contact, the appointment, the test and its result, why it
closed); never a case's barriers, notes, message or attempt contents, or timeline.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from navigator.intake.patient_merge import patient_merge as merge_patients
from navigator.intake.referral_import import referral_import_start
from navigator.intake.referrals import referral_create as create_referral
from navigator.models import CASEWORK_ROLES, Role
from navigator.permissions import AuthedRequest, role_required
from navigator.selectors import cases as case_selectors
from navigator.selectors import referrals as referral_selectors
from navigator.services.referral_digest import referral_digest_preference_set
from patients import duplicates, selectors
from patients.api.upload import template_response
from patients.forms import (
    CareGapFilterForm,
    DigestPreferenceForm,
    PatientMergeForm,
    ProgramRulesForm,
    ReferralFilterForm,
    ReferralForm,
    ReferralUploadForm,
)
from patients.models import Patient, Referral
from patients.services.program_rules import program_rules_update
from patients.services.referrals import referral_seen_record
from patients.uploads.parse import MAX_BYTES, MAX_ROWS, UploadRejected
from patients.uploads.template import TEMPLATE_EXAMPLE, column_guide

PAGE_SIZE = 50
# The upload page links the latest jobs of the clinic (all clinics for managers).
RECENT_UPLOADS = 10


@require_http_methods(["GET", "POST"])
@role_required(Role.CLINIC_STAFF, Role.MANAGER)
def referral_list(request: AuthedRequest) -> HttpResponse:
    """The clinic's referrals, newest first, each marked if it changed since this user
    last opened it. Filters (program, step, changed) come in the address; a search
    comes in a POST body (no names, MRNs or birth dates in logged URLs) and answers
    its first page of matches."""
    searching = request.method == "POST"
    form = ReferralFilterForm(
        request.POST if searching else request.GET,
        steps=referral_selectors.clinic_steps(),
        searching=searching,
        id_prefix="referrals",
    )
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        referrals = referral_selectors.referral_rows(
            user=request.user,
            search=data["q"],
            program=data["program"],
            step=data["step"],
            changed_only=data["changed"],
        )
    else:
        referrals, status = Referral.objects.none(), 400
    page = Paginator(referrals, PAGE_SIZE).get_page(None if searching else request.GET.get("page"))
    digest = None
    if request.user.is_clinic_staff:
        digest = DigestPreferenceForm(
            initial={"enabled": referral_selectors.digest_enabled(user=request.user)}
        )
    return render(
        request,
        "patients/referral_list.html",
        {
            "page": page,
            "referrals": page,
            "form": form,
            "searching": searching,
            "digest_form": digest,
        },
        status=status,
    )


@require_POST
@role_required(Role.CLINIC_STAFF)
def referral_digest_preference(request: AuthedRequest) -> HttpResponse:
    """A clinic user turns the daily e-mail of changed referral numbers on or off."""
    form = DigestPreferenceForm(request.POST)
    form.is_valid()  # a checkbox: any value is valid
    enabled = bool(form.cleaned_data.get("enabled"))
    try:
        referral_digest_preference_set(user=request.user, enabled=enabled)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "You will get a daily e-mail listing the numbers of referrals that changed."
            if enabled
            else "The daily e-mail is off.",
        )
    return redirect("patients:referral_list")


def _referral_form(request: AuthedRequest, data=None) -> ReferralForm:
    user = request.user
    fixed_clinic = user.clinic if user.is_clinic_staff and user.clinic_id else None
    return ReferralForm(
        data,
        id_prefix="referral",
        programs=selectors.programs_active(),
        clinics=selectors.clinics_active(),
        fixed_clinic=fixed_clinic,
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.CLINIC_STAFF, Role.MANAGER)
def referral_create(request: AuthedRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "patients/referral_form.html", {"form": _referral_form(request)})
    form = _referral_form(request, request.POST)
    if form.is_valid():
        try:
            referral = create_referral(
                clinic=form.clinic_choice,
                program=form.cleaned_data["program"],
                patient_data=form.patient_input(),
                referring_clinician=form.cleaned_data["referring_clinician"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                eligibility_override_reason=form.cleaned_data["eligibility_override_reason"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Referral sent. A navigator will contact the patient.")
            return redirect("patients:referral_detail", pk=referral.pk)
    return render(request, "patients/referral_form.html", {"form": form}, status=400)


@require_GET
@role_required(Role.CLINIC_STAFF, Role.MANAGER, *CASEWORK_ROLES)
def referral_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        referral = selectors.referral_detail(user=request.user, referral_id=pk)
    except Referral.DoesNotExist:
        raise Http404("No such referral.") from None
    # Opening it is what the list's "changed" mark measures from.
    referral_seen_record(referral=referral, user=request.user)
    return render(
        request,
        "patients/referral_detail.html",
        {"referral": referral, "loop": referral_selectors.referral_loop(referral)},
    )


@require_GET
@role_required(Role.CLINIC_STAFF, Role.MANAGER, *CASEWORK_ROLES)
def patient_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A patient's screening status per program, with its reasons and evidence."""
    try:
        patient = (
            selectors.patients_with_details(user=request.user)
            .select_related("care_gap_stamp")  # read by care_gaps_stale: no query of its own
            .get(pk=pk)
        )
    except Patient.DoesNotExist:
        raise Http404("No such patient.") from None
    cases = []
    if not request.user.is_clinic_staff:
        cases = list(case_selectors.cases_of_patient(user=request.user, patient=patient))
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "care_gaps": selectors.care_gaps_for(patient),
            "feed_ids": selectors.feed_ids_for(patient),
            "cases": cases,
            "stale": selectors.care_gaps_stale(patient),
        },
    )


@require_GET
@role_required(Role.MANAGER)
def care_gap_list(request: AuthedRequest) -> HttpResponse:
    """Who is overdue, due soon, excluded or up to date, per program, with the reason."""
    form = CareGapFilterForm(request.GET or {"status": selectors.ANY_GAP})
    filters = form.cleaned_data if form.is_valid() else {}
    gaps = selectors.care_gap_list(
        user=request.user, program=filters.get("program", ""), status=filters.get("status", "")
    )
    page = Paginator(gaps, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/care_gap_list.html",
        {
            "form": form,
            "page": page,
            "gaps": page,
            "programs": selectors.programs_all(),
        },
    )


@require_GET
@role_required(Role.MANAGER)
def patient_duplicates(request: AuthedRequest) -> HttpResponse:
    """Patients who are likely one person: the same MRN at a clinic, however typed, or
    the same name and birth date."""
    return render(
        request,
        "patients/patient_duplicates.html",
        {"groups": duplicates.patient_duplicate_groups()},
    )


@require_POST
@role_required(Role.MANAGER)
def patient_merge(request: AuthedRequest) -> HttpResponse:
    """Merge one record of a likely duplicate group into the one kept."""
    form = PatientMergeForm(request.POST)
    if form.is_valid():
        try:
            merge = merge_patients(
                survivor_id=form.cleaned_data["survivor"],
                duplicate_id=form.cleaned_data["duplicate"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                f"Record #{merge.duplicate_id} merged into #{merge.survivor_id}: its cases, "
                "referrals, screenings, EHR data, messages and phones are now on "
                f"#{merge.survivor_id}.",
            )
            return redirect("patients:patient_detail", pk=merge.survivor_id)
    return render(
        request,
        "patients/patient_duplicates.html",
        {"groups": duplicates.patient_duplicate_groups(), "merge_form": form},
        status=400,
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.MANAGER)
def program_rules(request: AuthedRequest, code: str) -> HttpResponse:
    """A program's care-gap rules, their history, and (POST) a new version of them."""
    program = selectors.program_by_code(code)
    if program is None:
        raise Http404("No such program.")
    status = 200
    if request.method == "POST":
        form = ProgramRulesForm(request.POST, program=program)
        if form.is_valid():
            try:
                version = program_rules_update(
                    program=program,
                    actor=request.user,
                    summary=form.cleaned_data["summary"],
                    **form.changes(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if version is None:
                    messages.info(request, "Nothing changed; no new version was recorded.")
                else:
                    messages.success(
                        request,
                        f"Rules version {version.number} saved. Care gaps are recomputed "
                        "tonight under the new rules.",
                    )
                return redirect("patients:program_rules", code=program.code)
        status = 400
    else:
        form = ProgramRulesForm(program=program)
    versions = [
        (version, selectors.rule_changes(version.before, version.after))
        for version in selectors.rule_versions_for(program)
    ]
    return render(
        request,
        "patients/program_rules.html",
        {"program": program, "form": form, "versions": versions},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.CLINIC_STAFF, Role.MANAGER)
def referral_upload(request: AuthedRequest) -> HttpResponse:
    """Upload a CSV of referrals: checked at once, then imported in the background.

    A file that can be read (and, all or nothing, has no bad row) is queued and the
    browser is sent to its job's page (302), which shows the progress, then the counts
    and every bad row with its line and reason. 400 when nothing will be imported,
    with the reasons. Sending the same file again is harmless: rows already imported
    are skipped as duplicates.
    """
    user = request.user
    fixed = user.clinic if user.is_clinic_staff else None
    context: dict = {
        "columns": [
            (column, text, TEMPLATE_EXAMPLE[column]) for column, text in column_guide().items()
        ],
        "max_rows": MAX_ROWS,
        "recent_uploads": selectors.uploads_visible_to(user)[:RECENT_UPLOADS],
    }
    status = 200
    if request.method == "POST":
        form = ReferralUploadForm(request.POST, request.FILES, fixed_clinic=fixed)
        if form.is_valid():
            upload_file = form.cleaned_data["file"]
            try:
                upload = referral_import_start(
                    clinic=form.clinic_choice,
                    actor=user,
                    file_bytes=upload_file.read(MAX_BYTES + 1),
                    filename=upload_file.name or "upload.csv",
                    mode=form.cleaned_data["mode"],
                )
            except UploadRejected as rejected:
                context["rejected"] = rejected
                context["row_errors"] = [error.as_dict() for error in rejected.errors]
                status = 400
            except ValidationError as error:
                form.add_service_error(error)
                status = 400
            else:
                return redirect("patients:referral_upload_job", upload_id=upload.pk)
        else:
            status = 400
    else:
        form = ReferralUploadForm(fixed_clinic=fixed)
    context["form"] = form
    return render(request, "patients/referral_upload.html", context, status=status)


@require_GET
@role_required(Role.CLINIC_STAFF, Role.MANAGER)
def referral_upload_template(request: AuthedRequest) -> HttpResponse:
    """The CSV template: the header, a line documenting each column, an example line."""
    return template_response()
