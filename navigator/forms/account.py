"""The two-factor code form and the admin's password form."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AdminPasswordChangeForm

from navigator.forms.base import EquiNavForm
from navigator.services.passwords import user_password_set


class TotpCodeForm(EquiNavForm):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=9,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="Six digits; it changes every 30 seconds.",
    )


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saving through the password service (which
    also revokes the user's API tokens and records the change). The admin's own log
    records which administrator made it."""

    def save(self, commit: bool = True):
        usable = self.cleaned_data.get("set_usable_password", True)
        user_password_set(
            user=self.user, password=self.cleaned_data["password1"] if usable else None
        )
        return self.user
