"""Roles are Django groups carrying model permissions; this module names them and says
which permissions each one gets. Scoping rows to a user lives in
`DealerQuerySet.visible_to`, which reads the role from here."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Role(StrEnum):
    COLLECTOR = "collector"
    MANAGER = "manager"
    FINANCE = "finance"
    AGENCY = "agency"
    AUDITOR = "auditor"


# When a user is in several groups, the widest role wins.
PRECEDENCE = [Role.MANAGER, Role.FINANCE, Role.AUDITOR, Role.COLLECTOR, Role.AGENCY]

_LEDGER = ["dealer", "contact", "order", "orderline", "payment", "allocation", "agency"]
# Exchange rates are finance's figures: kept by finance and managers, read by the others
# who see whole-book amounts; never deleted by a role (a rate once used is evidence).
_RATES = ["exchangerate"]


def _perms(app: str, models: list[str], actions: list[str]) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in actions]


# The collection workflow's models (app "dunning").
_WORKFLOW = [
    "collectionpolicy",
    "collectionaccount",
    "stagechange",
    "evidence",
    "escalation",
    "installmentplan",
    "promise",
    "excuse",
    "contactlog",
    "task",
    "dealerevent",
    "alert",
    "letter",
    "interestcharge",
    "sweepbatch",
]
# What a collector works with in the field (alerts and sweep batches are the managers').
_FIELD_WORK = [m for m in _WORKFLOW if m not in ("alert", "sweepbatch")]
# What an agency sees of the accounts placed with it.
_AGENCY_VIEW = [
    "collectionaccount",
    "stagechange",
    "installmentplan",
    "promise",
    "excuse",
    "contactlog",
    "letter",
]

# Permissions per role, as "app_label.codename". Other apps extend this mapping.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.MANAGER: [
        *_perms("receivables", _LEDGER, ["view", "add", "change", "delete"]),
        *_perms("receivables", _RATES, ["view", "add", "change"]),
        *_perms("dunning", _WORKFLOW, ["view", "add", "change"]),
        "dunning.decide_escalation",
        "dunning.override_credit_hold",
    ],
    Role.FINANCE: [
        *_perms("receivables", _LEDGER, ["view", "add", "change"]),
        *_perms("receivables", _RATES, ["view", "add", "change"]),
        *_perms("dunning", _WORKFLOW, ["view"]),
        "dunning.add_letter",
    ],
    Role.AUDITOR: [
        *_perms("receivables", _LEDGER, ["view"]),
        *_perms("receivables", _RATES, ["view"]),
        *_perms("dunning", _WORKFLOW, ["view"]),
    ],
    Role.COLLECTOR: [
        *_perms("receivables", ["dealer", "contact", "order", "payment"], ["view"]),
        *_perms("receivables", _RATES, ["view"]),
        "receivables.add_contact",
        "receivables.change_contact",
        *_perms("dunning", _FIELD_WORK, ["view"]),
        *_perms(
            "dunning",
            ["promise", "installmentplan", "contactlog", "escalation", "evidence", "dealerevent"],
            ["add"],
        ),
        "dunning.change_task",
        # The assessment (cause, ability and willingness) is the collector's call; the
        # stage is protected and the credit-hold override needs its own permission.
        "dunning.change_collectionaccount",
    ],
    Role.AGENCY: [
        *_perms("receivables", ["dealer", "contact", "order", "payment"], ["view"]),
        *_perms("dunning", _AGENCY_VIEW, ["view"]),
        "dunning.add_contactlog",
    ],
}


def role_of(user: User | AnonymousUser) -> Role | None:
    """The user's role, or None for anonymous users and users without one.

    Superusers act as managers. The groups are cached on the user object so that a page
    asking several times costs one query.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.MANAGER
    cached = getattr(user, "_role_cache", "unset")
    if cached != "unset":
        return cached  # type: ignore[return-value]
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in PRECEDENCE if r.value in names), None)
    setattr(user, "_role_cache", role)  # noqa: B010 - a per-request cache on the object
    return role


def sync_role_groups() -> None:
    """Create the role groups and give them exactly their permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    known = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set([known[p] for p in perms if p in known])
