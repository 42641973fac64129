"""The collection workflow's services (HackSoft style): keyword-only, atomic, taking
`today=` / `now=` explicitly, raising the exceptions of `dunning.services.errors`, and
sending e-mail only after commit. Views, the API and the daily sweep call these; nothing
else changes the workflow tables.

Services check what the user's role may do (`by=None` is the daily sweep); which dealers
a user may see is the caller's check, with `Dealer.objects.visible_to(user)`.
"""

from dunning.services.alerts import acknowledge_alert, alert_managers
from dunning.services.contacts import (
    broken_contact_rule,
    complete_task,
    log_contact,
    report_event,
)
from dunning.services.errors import (
    EscalationConflict,
    InvalidInput,
    PermissionDenied,
    StageConflict,
    TaskAlreadyDone,
    TransitionNotAllowed,
    WorkflowConflict,
)
from dunning.services.escalations import approve_escalation, reject_escalation, request_escalation
from dunning.services.evidence import attach_evidence, sha256_of
from dunning.services.promises import make_installment_plan, make_promise, promise_reliability
from dunning.services.stages import (
    can_move,
    ensure_account,
    load_facts,
    move_stage,
    override_credit_hold,
    set_assessment,
    why_not,
)
from dunning.services.timeline import TimelineEntry, timeline
from receivables.dates import business_today

__all__ = [
    "EscalationConflict",
    "InvalidInput",
    "PermissionDenied",
    "StageConflict",
    "TaskAlreadyDone",
    "TimelineEntry",
    "TransitionNotAllowed",
    "WorkflowConflict",
    "acknowledge_alert",
    "alert_managers",
    "approve_escalation",
    "attach_evidence",
    "broken_contact_rule",
    "business_today",
    "can_move",
    "complete_task",
    "ensure_account",
    "load_facts",
    "log_contact",
    "make_installment_plan",
    "make_promise",
    "move_stage",
    "override_credit_hold",
    "promise_reliability",
    "reject_escalation",
    "report_event",
    "request_escalation",
    "set_assessment",
    "sha256_of",
    "timeline",
    "why_not",
]
