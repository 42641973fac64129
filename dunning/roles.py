"""What each role may do in the collection workflow, as model permissions of the app
"dunning". The roles themselves, and scoping dealers to a user, are the ledger's
(`receivables.roles`, `DealerQuerySet.visible_to`).
"""

from __future__ import annotations

from receivables.roles import Role


def _perms(models: list[str], actions: list[str]) -> list[str]:
    return [f"dunning.{action}_{model}" for model in models for action in actions]


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

WORKFLOW_PERMISSIONS: dict[Role, list[str]] = {
    Role.MANAGER: [
        *_perms(_WORKFLOW, ["view", "add", "change"]),
        "dunning.decide_escalation",
        "dunning.override_credit_hold",
    ],
    # Finance runs the print room: it issues letters and records their posting.
    Role.FINANCE: [*_perms(_WORKFLOW, ["view"]), "dunning.add_letter", "dunning.change_letter"],
    Role.AUDITOR: _perms(_WORKFLOW, ["view"]),
    Role.COLLECTOR: [
        *_perms(_FIELD_WORK, ["view"]),
        *_perms(
            ["promise", "installmentplan", "contactlog", "escalation", "evidence", "dealerevent"],
            ["add"],
        ),
        "dunning.change_task",
        # The assessment (cause, ability and willingness) is the collector's call; the
        # stage is protected and the credit-hold override needs its own permission.
        "dunning.change_collectionaccount",
    ],
    # An agency logs its own contacts and the promises it obtains; recoveries it passes
    # on are recorded through `dunning.services.agency.record_recovery`, which checks the
    # placement instead of a general right to record payments.
    Role.AGENCY: [
        *_perms(_AGENCY_VIEW, ["view"]),
        "dunning.add_contactlog",
        "dunning.add_promise",
    ],
}
