"""Forms of the safety net around an unresolved result: proposing to close the case
for a reason from the fixed list, and a manager's decision."""

from __future__ import annotations

from django import forms

from navigator.forms.base import CaseForm
from navigator.models import FollowUpCloseReason
from navigator.services.follow_ups import CLOSE_NOTE_MAX_LENGTH


class FollowUpCloseProposeForm(CaseForm):
    reason = forms.ChoiceField(
        label="Reason",
        choices=[("", "Choose a reason…"), *FollowUpCloseReason.choices],
        error_messages={"required": "Choose one of the listed reasons."},
    )
    note = forms.CharField(
        label="What happened (the manager decides from it)",
        max_length=CLOSE_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what happened; the manager decides from it."},
    )


class FollowUpCloseDecisionForm(CaseForm):
    """Confirm (the case closes) or keep open: one form, two buttons."""

    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=CLOSE_NOTE_MAX_LENGTH,
        help_text="Goes on the timeline with the decision.",
    )
