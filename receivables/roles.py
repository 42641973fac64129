"""Roles are Django groups carrying model permissions; this module names them and says
which ledger permissions each one gets (the workflow's are in `dunning.roles`). Scoping
rows to a user lives in `DealerQuerySet.visible_to`, which reads the role from here."""

from __future__ import annotations

from collections.abc import Mapping
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
# Imports from the finance desk: started (and confirmed) by finance and managers, who see
# each other's, since one import at a time runs for the whole book.
_IMPORTS = ["importjob"]


def _perms(app: str, models: list[str], actions: list[str]) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in actions]


# Ledger permissions per role, as "app_label.codename". The workflow's are in
# `dunning.roles`; each app syncs its own (`sync_role_groups`).
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.MANAGER: [
        *_perms("receivables", _LEDGER, ["view", "add", "change", "delete"]),
        *_perms("receivables", _RATES, ["view", "add", "change"]),
        *_perms("receivables", _IMPORTS, ["view", "add"]),
    ],
    Role.FINANCE: [
        *_perms("receivables", _LEDGER, ["view", "add", "change"]),
        *_perms("receivables", _RATES, ["view", "add", "change"]),
        *_perms("receivables", _IMPORTS, ["view", "add"]),
    ],
    Role.AUDITOR: [
        *_perms("receivables", _LEDGER, ["view"]),
        *_perms("receivables", _RATES, ["view"]),
    ],
    Role.COLLECTOR: [
        *_perms("receivables", ["dealer", "contact", "order", "payment"], ["view"]),
        *_perms("receivables", _RATES, ["view"]),
        "receivables.add_contact",
        "receivables.change_contact",
    ],
    Role.AGENCY: _perms("receivables", ["dealer", "contact", "order", "payment"], ["view"]),
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


def sync_role_groups(app_label: str, permissions: Mapping[Role, list[str]]) -> None:
    """Create the role groups and give each exactly the permissions of `app_label` that
    `permissions` lists, leaving other apps' permissions as they are (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    known = {
        f"{app_label}.{codename}": pk
        for pk, codename in Permission.objects.filter(
            content_type__app_label=app_label
        ).values_list("pk", "codename")
    }
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = {known[p] for p in permissions.get(role, []) if p in known}
        current = set(
            group.permissions.filter(content_type__app_label=app_label).values_list("pk", flat=True)
        )
        group.permissions.remove(*(current - wanted))
        group.permissions.add(*(wanted - current))
