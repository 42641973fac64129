"""The collection workflow's tables, by sub-domain:

- `stages`: the stages, the risk classes and the state machine of a dealer's account
  (`CollectionAccount`), with its history (`StageChange`);
- `policy`: the collection policy, the rules as data;
- `escalations`: requests for a manager's approval, and the evidence attached to them;
- `promises`: promises to pay and installment plans;
- `contacts`: the excuse library, the contact log and danger-sign events;
- `work`: follow-up tasks and managers' alerts;
- `letters`: letters and interest charges;
- `sweep`: the daily sweep's claimed batches.

Import them from here (`from dunning.models import Promise`).
"""

from dunning.models.contacts import ContactLog, DealerEvent, Excuse
from dunning.models.escalations import Escalation, EscalationQuerySet, Evidence
from dunning.models.letters import InterestCharge, Letter
from dunning.models.policy import CollectionPolicy
from dunning.models.promises import BROKEN_STATUSES, InstallmentPlan, Promise, PromiseQuerySet
from dunning.models.stages import (
    CREDIT_HOLD_STAGES,
    ESCALATED_STAGES,
    ESCALATION_TRANSITIONS,
    LETTER_STAGES,
    MANAGER_PERMISSION,
    NO_LIMITATION_WATCH,
    CollectionAccount,
    RiskClass,
    Stage,
    StageChange,
    refusal,
    refusal_of,
)
from dunning.models.sweep import SweepBatch
from dunning.models.work import Alert, Task

__all__ = [
    "BROKEN_STATUSES",
    "CREDIT_HOLD_STAGES",
    "ESCALATED_STAGES",
    "ESCALATION_TRANSITIONS",
    "LETTER_STAGES",
    "MANAGER_PERMISSION",
    "NO_LIMITATION_WATCH",
    "Alert",
    "CollectionAccount",
    "CollectionPolicy",
    "ContactLog",
    "DealerEvent",
    "Escalation",
    "EscalationQuerySet",
    "Evidence",
    "Excuse",
    "InstallmentPlan",
    "InterestCharge",
    "Letter",
    "Promise",
    "PromiseQuerySet",
    "RiskClass",
    "Stage",
    "StageChange",
    "SweepBatch",
    "Task",
    "refusal",
    "refusal_of",
]
