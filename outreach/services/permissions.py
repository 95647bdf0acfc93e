"""Who may make the managers' decisions in outreach (closing a case as unreachable,
protocols, rules, retrying or cancelling a patient message)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from navigator.models import User


def manager_required(actor: User, what: str) -> None:
    """Refuse `what` to anyone but a program manager (who sees every case)."""
    if not (actor.is_authenticated and actor.sees_all_cases):
        raise PermissionDenied(f"Only a program manager can {what}.")
