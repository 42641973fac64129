"""The main menu and the landing page of each role: one table says which pages a role
works in, in the order it works in them. Both apps' pages are here, so it lives where
the apps are wired together (`config`), not in either app.

A role sees only the entries it may use: the pages check the same permissions again,
so the menu is a convenience, never the lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import Promise as LazyText
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from receivables.roles import Role, role_of


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: LazyText | str
    # URL names (besides `url_name`) whose pages light this entry up as the current one.
    also: tuple[str, ...] = ()
    # Or every URL name starting with this.
    prefix: str = ""


DESK = Entry("team_desk", _("Desk"))
DASHBOARD = Entry("home", _("Dashboard"))
WORKLIST = Entry("worklist", _("Worklist"), also=("collection",))
DEALERS = Entry("dealer_list", _("Dealers"), also=("dealer_detail",))
AGING = Entry("aging_report", _("Aging report"))
TASKS = Entry("task_list", _("Tasks"))
_DECISIONS = ("escalation_decide", "escalation_approve", "escalation_reject")
APPROVALS = Entry("escalation_list", _("Approvals"), also=_DECISIONS)
REQUESTS = Entry("escalation_list", _("Escalations"), also=_DECISIONS)
ALERTS = Entry("alert_list", _("Alerts"))
TEAM = Entry("team_reassign", _("Team"), prefix="team_")
# Auditors read the policy, the excuse library and the overrides, and move no dealer.
POLICY = Entry("team_policy", _("Policy"), prefix="team_")
FINANCE = Entry("finance_desk", _("Finance desk"))
IMPORT = Entry("finance_import", _("Import"), prefix="finance_import")
PAYMENTS = Entry("finance_payments", _("Payments"), prefix="finance_payment")
PRINT_ROOM = Entry("printroom_today", _("Print room"), prefix="printroom_")
PLACED = Entry("agency_worklist", _("Placed accounts"), also=("agency_dealer",))
COMMISSION = Entry("agency_commission", _("Commission"))

MENUS: dict[Role, list[Entry]] = {
    Role.MANAGER: [DESK, APPROVALS, WORKLIST, DEALERS, AGING, TASKS, ALERTS, TEAM],
    Role.FINANCE: [FINANCE, IMPORT, PAYMENTS, PRINT_ROOM, DEALERS, AGING],
    Role.COLLECTOR: [WORKLIST, TASKS, DEALERS, AGING, REQUESTS, DASHBOARD],
    Role.AUDITOR: [DASHBOARD, DESK, DEALERS, AGING, REQUESTS, ALERTS, POLICY, PRINT_ROOM],
    Role.AGENCY: [PLACED, COMMISSION, DEALERS],
}

# Where each role lands after logging in: the page its day starts on.
LANDING: dict[Role, str] = {
    Role.MANAGER: DESK.url_name,
    Role.FINANCE: FINANCE.url_name,
    Role.COLLECTOR: WORKLIST.url_name,
    Role.AGENCY: PLACED.url_name,
}


@dataclass(frozen=True)
class MenuItem:
    url: str
    label: str
    current: bool


def menu_for(request: HttpRequest) -> list[MenuItem]:
    """The role's menu entries, with the one of the page shown marked current: the entry
    naming the page, else the one whose prefix it has (the desk is `team_desk`, not one
    of the team pages)."""
    role = role_of(request.user)
    if role is None:
        return []
    match = getattr(request, "resolver_match", None)
    section = (match.url_name if match is not None else "") or ""
    entries = MENUS[role]
    current = next((e for e in entries if section in (e.url_name, *e.also)), None)
    if current is None and section:
        current = next((e for e in entries if e.prefix and section.startswith(e.prefix)), None)
    return [
        MenuItem(url=reverse(entry.url_name), label=str(entry.label), current=entry is current)
        for entry in entries
    ]


def main_menu(request: HttpRequest) -> dict[str, object]:
    """Context processor: `main_menu`, the entries of the user's role."""
    return {"main_menu": menu_for(request)}


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """After logging in: the page the user's role starts its day on (the dashboard for
    the others)."""
    role = role_of(request.user)
    return redirect(LANDING.get(role, DASHBOARD.url_name) if role else "login")


__all__ = ["LANDING", "MENUS", "landing", "main_menu", "menu_for"]
