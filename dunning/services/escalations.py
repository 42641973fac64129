"""Escalations: moves to hard collection, litigation, agency placement and write-off are requested
(by a collector, or proposed by the daily sweep) and decided by a manager who is not the requester
("Soft first, hard when needed" and "Firm, not abusive", docs/PRACTICE.md §7 and §19)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext
from simple_history.utils import bulk_create_with_history

from dunning.models import (
    ESCALATED_STAGES,
    ESCALATION_TRANSITIONS,
    Alert,
    CollectionAccount,
    Escalation,
    Evidence,
    Stage,
)
from dunning.services.alerts import alert_managers, mail_managers_after_commit
from dunning.services.common import check_text, require, stamp
from dunning.services.errors import (
    EscalationConflict,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
    WorkflowConflict,
)
from dunning.services.evidence import attach_evidence
from dunning.services.letters import issue_escalation_notice
from dunning.services.stages import can_move, ensure_account, load_facts, move_stage, why_not
from receivables.models import Agency, Dealer

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DECIDE_PERMISSION = "dunning.decide_escalation"

E = TypeVar("E", bound=Exception)

# A request of the system's that a manager rejected is not proposed again for this many
# days (a person may still ask; new broken promises or events count after that).
REJECTION_COOLDOWN_DAYS = 30


@dataclass(frozen=True)
class Proposal:
    """The system asks a manager to move the dealer's account to `to_stage`, because
    `reason`. The caller has asked the state machine that the move is possible."""

    dealer_id: int
    to_stage: str
    reason: str


@dataclass
class ProposalsMade:
    # The new pending requests, in the order proposed, and the alert of each.
    escalations: list[Escalation] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # By (dealer id, stage): the pending request, or the recent rejection, that held a
    # proposal back.
    held_back: dict[tuple[int, str], Escalation] = field(default_factory=dict)


def _who(user: User | None) -> str:
    return user.get_username() if user is not None else "The daily sweep"


def held_back_by(
    keys: Collection[tuple[int, str]], *, by_system: bool, today: dt.date
) -> dict[tuple[int, str], Escalation]:
    """For each (dealer id, stage) asked about, the request that holds a new one back: a
    pending one for the same dealer and stage (the database's partial unique constraint
    backs this), or, for the system's proposals, one rejected on one of the last
    `REJECTION_COOLDOWN_DAYS` business dates (a manager said no; the system does not ask
    again every morning). A pending request wins over a rejection. One query."""
    if not keys:
        return {}
    wanted = set(keys)
    held = Q(status=Escalation.Status.PENDING)
    if by_system:
        held |= Q(status=Escalation.Status.REJECTED, decided_at__gte=_cooldown_start(today))
    found: dict[tuple[int, str], Escalation] = {}
    for escalation in Escalation.objects.filter(
        held,
        dealer_id__in={dealer_id for dealer_id, _ in wanted},
        to_stage__in={stage for _, stage in wanted},
    ).order_by("decided_at", "pk"):
        key = (escalation.dealer_id, escalation.to_stage)
        if key not in wanted:
            continue
        if key not in found or escalation.status == Escalation.Status.PENDING:
            found[key] = escalation
    return found


def _cooldown_start(today: dt.date) -> dt.datetime:
    """Rejections decided at or after this moment hold the system's proposals back."""
    return dt.datetime.combine(
        today - dt.timedelta(days=REJECTION_COOLDOWN_DAYS),
        dt.time.min,
        tzinfo=ZoneInfo(settings.BUSINESS_TIME_ZONE),
    )


def why_held_back(escalation: Escalation) -> str:
    """In words, why no new request is made (the request returned by `held_back_by`)."""
    if escalation.status == Escalation.Status.PENDING:
        return f"a request to move to {escalation.to_stage} is already pending (#{escalation.pk})"
    assert escalation.decided_at is not None
    decided_on = escalation.decided_at.astimezone(ZoneInfo(settings.BUSINESS_TIME_ZONE)).date()
    again = decided_on + dt.timedelta(days=REJECTION_COOLDOWN_DAYS + 1)
    return (
        f"a request to move to {escalation.to_stage} was rejected on {decided_on:%Y-%m-%d} "
        f"(#{escalation.pk}); the system proposes it again from {again:%Y-%m-%d}"
    )


def escalation_alert_text(
    escalation: Escalation, *, by: User | None, code: str, name: str, from_stage: str
) -> str:
    """The managers' alert for a new request, whoever asked (`by=None`: the system)."""
    return (
        f"{_who(by)} asks to move {code} ({name}) from {from_stage} to {escalation.to_stage}: "
        f"{escalation.reason} (request #{escalation.pk})"
    )


def escalation_alert_key(escalation: Escalation) -> str:
    """The `source_key` of the managers' alert about a new request."""
    return f"escalation:{escalation.pk}"


@transaction.atomic
def request_escalation(
    *,
    dealer: Dealer,
    to_stage: str,
    reason: str,
    by: User | None,
    today: dt.date,
    evidence: Iterable[Evidence | File] = (),
    agency: Agency | None = None,
) -> Escalation:
    """A person asks a manager to move the account to `to_stage`; a placement names its
    `agency`. `evidence` holds `Evidence` rows of the dealer or uploaded files, which are
    attached first.

    A request for a move that is already pending gets `InvalidInput`. `by=None` is the
    system, under the system's rule (`held_back_by`): the pending request is returned as
    it is, and one rejected within the cooldown refuses with `InvalidInput`. The system
    proposes in bulk with `propose_escalations`.
    """
    require(by, "dunning.add_escalation")
    to_stage = _check_stage(to_stage)
    reason = check_text("reason", reason)
    if to_stage == Stage.AGENCY and agency is None:
        raise InvalidInput("agency", "Name the agency the account is to be placed with.")
    if to_stage != Stage.AGENCY and agency is not None:
        raise InvalidInput("agency", "Only a placement with an agency names an agency.")
    ensure_account(dealer)
    # The account row lock serialises requests, proposals and decisions for one dealer.
    account = CollectionAccount.objects.select_for_update().get(dealer=dealer)

    key = (dealer.pk, to_stage)
    held = held_back_by([key], by_system=by is None, today=today).get(key)
    if held is not None:
        return _already_held(held, by)

    load_facts(account, on=today)
    verb = ESCALATION_TRANSITIONS[Stage(to_stage)]
    if not can_move(account, verb):
        raise InvalidInput(
            "to_stage", f"Cannot ask to move to {to_stage}: {why_not(account, verb)}."
        )

    files = _evidence_of(dealer, evidence, by=by)
    escalation = Escalation(
        dealer=dealer,
        to_stage=to_stage,
        reason=reason,
        requested_by=by,
        requested_on=today,
        agency=agency,
    )
    stamp(escalation, by=by, reason="Escalation requested")
    try:
        with transaction.atomic():
            escalation.save()
    except IntegrityError:
        # A concurrent request for the same stage won the unique constraint.
        pending = Escalation.objects.get(
            dealer=dealer, to_stage=to_stage, status=Escalation.Status.PENDING
        )
        return _already_held(pending, by)
    escalation.evidence.set(files)
    alert_managers(
        dealer,
        kind=Alert.Kind.ESCALATION,
        message=escalation_alert_text(
            escalation, by=by, code=dealer.code, name=dealer.name, from_stage=account.stage
        ),
        source_key=escalation_alert_key(escalation),
    )
    return escalation


def _check_stage(to_stage: str) -> str:
    if to_stage not in ESCALATED_STAGES:
        allowed = ", ".join(ESCALATED_STAGES)
        raise InvalidInput("to_stage", f"'{to_stage}' is not one of: {allowed}.")
    return to_stage


def _already_held(held: Escalation, by: User | None) -> Escalation:
    """The system simply gets the pending request (it may propose on every run); a
    person, or the system after a rejection, is told why nothing new is made."""
    if by is None and held.status == Escalation.Status.PENDING:
        return held
    why = why_held_back(held)
    raise InvalidInput("to_stage", f"{why[0].upper()}{why[1:]}.")


@transaction.atomic
def propose_escalations(
    proposals: Sequence[Proposal], *, today: dt.date, mail_managers: bool = True
) -> ProposalsMade:
    """The system's proposals (`requested_by` empty), for any number of dealers in a
    fixed number of queries: each is made unless `held_back_by` holds it back, with an
    alert on the managers' board.

    The managers get one e-mail for the alerts once the transaction commits; a caller
    that mails its own alerts with these (the daily sweep, once per batch) passes
    `mail_managers=False` and sends `alerts` itself.
    """
    keys: list[tuple[int, str]] = []
    seen: set[tuple[int, str]] = set()
    for proposal in proposals:
        key = (proposal.dealer_id, _check_stage(proposal.to_stage))
        check_text("reason", proposal.reason)
        if key in seen:
            raise InvalidInput(
                "proposals", f"Dealer #{key[0]} is proposed for {key[1]} more than once."
            )
        seen.add(key)
        keys.append(key)
    if not keys:
        return ProposalsMade()

    # The accounts are locked as `request_escalation` locks them, so that a person's
    # request and the system's proposal for one dealer are decided in turn.
    dealer_ids = {dealer_id for dealer_id, _ in keys}
    accounts = {
        dealer_id: (stage, code, name)
        for dealer_id, stage, code, name in CollectionAccount.objects.select_for_update(
            of=("self",)
        )
        .filter(dealer_id__in=dealer_ids)
        .order_by("pk")
        .values_list("dealer_id", "stage", "dealer__code", "dealer__name")
    }
    if missing := sorted(dealer_ids - accounts.keys()):
        raise InvalidInput(
            "proposals", f"Dealer #{missing[0]} has no collection account to escalate."
        )

    held = held_back_by(keys, by_system=True, today=today)
    made = ProposalsMade(held_back=held)
    new = [
        Escalation(
            dealer_id=proposal.dealer_id,
            to_stage=proposal.to_stage,
            reason=proposal.reason.strip(),
            requested_by=None,
            requested_on=today,
        )
        for proposal, key in zip(proposals, keys, strict=True)
        if key not in held
    ]
    if not new:
        return made
    made.escalations = bulk_create_with_history(
        new, Escalation, default_change_reason="proposed by the daily sweep"
    )
    for escalation in made.escalations:
        stage, code, name = accounts[escalation.dealer_id]
        made.alerts.append(
            Alert(
                dealer_id=escalation.dealer_id,
                kind=Alert.Kind.ESCALATION,
                message=escalation_alert_text(
                    escalation, by=None, code=code, name=name, from_stage=stage
                ),
                source_key=escalation_alert_key(escalation),
            )
        )
    Alert.objects.bulk_create(made.alerts)
    if mail_managers:
        _mail_managers(made.alerts, {d: (code, name) for d, (_, code, name) in accounts.items()})
    return made


def _mail_managers(alerts: list[Alert], names: dict[int, tuple[str, str]]) -> None:
    """One e-mail for the alerts, after commit: one alert reads as `alert_managers`
    writes it, several as a list."""
    if len(alerts) == 1:
        code, name = names[alerts[0].dealer_id]
        subject = f"[Receivables Desk] {alerts[0].get_kind_display()}: {code} {name}"
    else:
        subject = f"[Receivables Desk] {len(alerts)} escalations proposed"
    mail_managers_after_commit(subject, "\n\n".join(alert.message for alert in alerts))


def _evidence_of(
    dealer: Dealer, items: Iterable[Evidence | File], *, by: User | None
) -> list[Evidence]:
    found = []
    for item in items:
        if isinstance(item, Evidence):
            if item.dealer_id != dealer.pk:
                raise InvalidInput("evidence", f"Evidence #{item.pk} belongs to another dealer.")
            found.append(item)
        else:
            found.append(attach_evidence(dealer=dealer, file=item, description="", by=by))
    return found


def _briefly(error: E, brief: str) -> E:
    """Attach to a refusal its short form, as a list of outcomes shows it beside the
    request's number ("you requested it"); the message stays the whole sentence."""
    error.brief = brief  # type: ignore[attr-defined]
    return error


def _decidable(escalation_id: int, by: User) -> Escalation:
    """The pending escalation, locked, if `by` may decide it."""
    if not by.has_perm(DECIDE_PERMISSION):
        raise _briefly(
            PermissionDenied("Only a collection manager may decide an escalation."),
            gettext("not decided: only a collection manager may decide it"),
        )
    escalation = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("dealer", "decided_by")
        .get(pk=escalation_id)
    )
    if escalation.requested_by_id == by.pk:
        raise _briefly(
            PermissionDenied("You requested this escalation: another manager must decide it."),
            gettext("not decided: you requested it"),
        )
    if escalation.status != Escalation.Status.PENDING:
        if escalation.decided_by is not None:
            decided_by = escalation.decided_by.get_username()
        elif escalation.status == Escalation.Status.CLOSED:
            decided_by = "the daily sweep"
        else:
            decided_by = "someone"
        raise _briefly(
            EscalationConflict(
                f"Escalation #{escalation.pk} was already {escalation.status} by {decided_by}."
            ),
            _already(escalation.status, decided_by),
        )
    return escalation


def _already(status: str, by: str) -> str:
    """The short form of "already decided" for a list of outcomes: "already approved by
    bob", in the page's language."""
    if status == Escalation.Status.CLOSED:
        return gettext("already closed by the daily sweep")
    if status == Escalation.Status.APPROVED:
        return gettext("already approved by %(user)s") % {"user": by}
    return gettext("already rejected by %(user)s") % {"user": by}


def _decide(
    escalation: Escalation, *, status: str, by: User, note: str, now: dt.datetime
) -> Escalation:
    escalation.status = status
    escalation.decided_by = by
    escalation.decided_at = now
    escalation.decision_note = note
    stamp(escalation, by=by, reason=f"Escalation {status}")
    escalation.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return escalation


@transaction.atomic
def approve_escalation(
    *, escalation_id: int, by: User, note: str = "", today: dt.date, now: dt.datetime
) -> Escalation:
    """Approve the request and move the account. Raises `PermissionDenied` for a
    non-manager or the requester, and `EscalationConflict` when the request was already
    decided or the move is no longer possible (the dealer paid meanwhile, say)."""
    note = check_text("note", note, required=False)
    escalation = _decidable(escalation_id, by)
    ensure_account(escalation.dealer)
    account = CollectionAccount.objects.select_for_update().get(dealer_id=escalation.dealer_id)
    why = f"Escalation #{escalation.pk} approved by {by.get_username()}: {escalation.reason}"
    if note:
        why += f" ({note})"
    try:
        move_stage(
            account,
            ESCALATION_TRANSITIONS[Stage(escalation.to_stage)],
            on=today,
            by=by,
            reason=why,
            escalation=escalation,
        )
    except TransitionNotAllowed as exc:
        raise _briefly(
            EscalationConflict(
                f"Escalation #{escalation.pk} can no longer be approved: {exc} Reject it instead."
            ),
            gettext("not decided: the move is no longer possible (%(why)s); reject it instead")
            % {"why": why_not(account, ESCALATION_TRANSITIONS[Stage(escalation.to_stage)])},
        ) from exc
    if escalation.to_stage == Stage.AGENCY and escalation.agency_id is not None:
        # The placement is what lets the agency's users see the account.
        dealer = escalation.dealer
        dealer.agency_id = escalation.agency_id
        stamp(dealer, by=by, reason=f"Placed with agency by escalation #{escalation.pk}")
        dealer.save(update_fields=["agency", "updated_at"])
    issue_escalation_notice(escalation, today=today, by=by)
    return _decide(escalation, status=Escalation.Status.APPROVED, by=by, note=note, now=now)


@transaction.atomic
def reject_escalation(
    *, escalation_id: int, by: User, note: str = "", today: dt.date, now: dt.datetime
) -> Escalation:
    """Reject the request; the account stays where it is. Same refusals as approving."""
    note = check_text("note", note, required=False)
    escalation = _decidable(escalation_id, by)
    return _decide(escalation, status=Escalation.Status.REJECTED, by=by, note=note, now=now)


@dataclass(frozen=True)
class Outcome:
    """What became of one request of a decision taken on several (`decide_escalations`):
    decided now (`status`), or not, and why (`refusal`, short, beside the request's
    number; `detail`, the service's whole sentence). `forbidden` marks a refusal of the
    role or of the four-eyes rule, which a page deciding one request answers with 403."""

    escalation_id: int
    status: str = ""
    refusal: str = ""
    detail: str = ""
    forbidden: bool = False
    escalation: Escalation | None = None

    @property
    def decided(self) -> bool:
        return bool(self.status)

    def __str__(self) -> str:
        values = {"id": self.escalation_id, "why": self.refusal}
        if self.status == Escalation.Status.APPROVED:
            return gettext("#%(id)s approved") % values
        if self.status == Escalation.Status.REJECTED:
            return gettext("#%(id)s rejected") % values
        return gettext("#%(id)s %(why)s") % values

    @classmethod
    def missing(cls, escalation_id: int) -> Outcome:
        """A number that names no request the user may see."""
        return cls(
            escalation_id,
            refusal=gettext("not decided: there is no such request"),
            detail=f"No escalation #{escalation_id}.",
        )


@transaction.atomic
def decide_escalations(
    *,
    escalation_ids: Sequence[int],
    approve: bool,
    by: User,
    note: str,
    today: dt.date,
    now: dt.datetime,
) -> list[Outcome]:
    """Approve (or reject) each of the requests, in the order given, one by one through
    `approve_escalation` / `reject_escalation`, each in its own savepoint (theirs, inside
    this transaction): the role, the four-eyes rule and the conflicts apply to each, and
    a refusal undoes that request only. Returns what became of each, in the same order;
    a number given twice is decided once.

    A rejection from the desk says why: the requester reads the reason, and so does an
    auditor later. Rejecting without a note is refused with `InvalidInput("note")`
    before anything is decided (a user who may not decide at all is told that instead,
    request by request). (The API's `/reject` keeps its
    note optional, as docs/API.md says.) Which requests the user may see is the
    caller's check, as for every service: pass only those (`Outcome.missing` for the
    rest).
    """
    note = check_text("note", note, required=False)
    # Someone who may not decide is told so for each request, whatever the note.
    if not approve and not note and by.has_perm(DECIDE_PERMISSION):
        raise InvalidInput(
            "note", gettext("Say why you reject them: the requester reads the reason.")
        )
    decide = approve_escalation if approve else reject_escalation
    outcomes = []
    for escalation_id in dict.fromkeys(escalation_ids):
        try:
            decided = decide(escalation_id=escalation_id, by=by, note=note, today=today, now=now)
        except Escalation.DoesNotExist:
            outcomes.append(Outcome.missing(escalation_id))
        except (PermissionDenied, WorkflowConflict) as error:
            outcomes.append(
                Outcome(
                    escalation_id,
                    refusal=getattr(error, "brief", "")
                    or gettext("not decided: %(why)s") % {"why": str(error)},
                    detail=str(error),
                    forbidden=isinstance(error, PermissionDenied),
                )
            )
        else:
            outcomes.append(Outcome(escalation_id, status=decided.status, escalation=decided))
    return outcomes


__all__ = [
    "REJECTION_COOLDOWN_DAYS",
    "Outcome",
    "Proposal",
    "ProposalsMade",
    "approve_escalation",
    "decide_escalations",
    "escalation_alert_key",
    "escalation_alert_text",
    "held_back_by",
    "propose_escalations",
    "reject_escalation",
    "request_escalation",
    "why_held_back",
]
