"""Cases marked complete before results had categories, whose result calls for a
follow-up, were never complete: reopen them as waiting for that follow-up, with the
pathway's due date counted from the result, and say so on their timelines.

Only cases still open (status "completed") change; a case already closed keeps its
history, and the managers' list shows nothing for it.
"""

import datetime as dt

from django.db import migrations
from django.utils import timezone


def reopen(apps, schema_editor):
    Case = apps.get_model("navigator", "NavigationCase")
    Event = apps.get_model("navigator", "CaseEvent")
    FollowUp = apps.get_model("navigator", "ResultFollowUp")
    Screening = apps.get_model("patients", "ScreeningEvent")
    Pathway = apps.get_model("patients", "FollowUpPathway")
    for case in Case.objects.filter(status="completed"):
        latest = (
            Screening.objects.filter(case=case, category__isnull=False)
            .select_related("category", "modality")
            .order_by("-performed_on", "-pk")
            .first()
        )
        if latest is None or latest.category.meaning not in {"abnormal", "inadequate"}:
            continue
        pathways = Pathway.objects.filter(category=latest.category, active=True)
        pathway = (
            pathways.filter(modality=latest.modality).first()
            or pathways.filter(modality__isnull=True).first()
        )
        if pathway is None or FollowUp.objects.filter(screening=latest).exists():
            continue
        result_on = latest.resulted_on or latest.performed_on
        FollowUp.objects.create(
            case=case,
            screening=latest,
            pathway=pathway,
            kind=pathway.kind,
            next_step=pathway.next_step,
            next_modality=pathway.next_modality,
            result_on=result_on,
            due_on=result_on + dt.timedelta(days=pathway.target_days),
            limit_on=(
                result_on + dt.timedelta(days=pathway.limit_days) if pathway.limit_days else None
            ),
        )
        status = "follow_up_needed" if pathway.kind == "diagnostic" else "repeat_needed"
        Case.objects.filter(pk=case.pk).update(
            status=status, completed_at=None, version=case.version + 1
        )
        Event.objects.create(
            case=case,
            kind="status_changed",
            at=timezone.now(),
            summary=f"Screening complete → {pathway.next_step} needed: the "
            f"{latest.modality.name} result ({latest.category.name}) calls for it",
            data={"from": "completed", "to": status, "note": "results gained categories"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("navigator", "0012_clinic_event_kinds"),
        ("patients", "0014_referral_seen_and_override"),
    ]

    operations = [migrations.RunPython(reopen, migrations.RunPython.noop)]
