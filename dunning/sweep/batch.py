"""The work of one batch of the sweep: lock the accounts, load the facts of all its
dealers in one query, decide in Python with `dunning.sweep.rules`, write in bulk. The
number of queries depends on what kinds of things happen, never on how many dealers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max, OuterRef, Q, Subquery
from simple_history.utils import (
    bulk_create_with_history,
    bulk_update_with_history,
    get_history_manager_for_model,
)

from dunning.calendar import next_business_day_on_or_after, suggested_window
from dunning.figures import DealerFacts, facts_for
from dunning.models import (
    Alert,
    CollectionAccount,
    CollectionPolicy,
    Escalation,
    InterestCharge,
    Letter,
    Promise,
    Stage,
    StageChange,
    Task,
)
from dunning.services.alerts import mail_managers_after_commit
from dunning.sweep import rules
from receivables.allocation import reallocate_dealers
from receivables.models import CENT, ZERO, Dealer, Order, Payment

CHANGE_REASON = "daily sweep"

# Stages the sweep leaves for `current` once nothing is past due (agency placements and
# write-offs are closed by people).
SETTLE_FROM = (Stage.REMINDER, Stage.SOFT, Stage.HARD, Stage.LITIGATION)
# Stages in which the sweep issues reminders and the final demand; in litigation and with
# an agency, lawyers and the agency write.
LETTER_STAGES = (Stage.REMINDER, Stage.SOFT, Stage.HARD)
# Stages in which the sweep proposes going hard (the `harden` transition's sources).
PROPOSE_HARD_FROM = (Stage.REMINDER, Stage.SOFT)
# No limitation warning in litigation (the claim is in court) or once written off.
NO_LIMITATION_WARNING = (Stage.LITIGATION, Stage.WRITTEN_OFF)


class BatchSweep:
    """The decisions of one batch: read everything up front, decide, then write in bulk."""

    def __init__(self, *, today: dt.date, policy: CollectionPolicy, first: int, last: int):
        self.today = today
        self.policy = policy
        self.first = first
        self.last = last
        self.counts: Counter[str] = Counter()
        self.interest_total = ZERO
        self.window = suggested_window(policy)
        self.accounts: dict[int, CollectionAccount] = {}
        self.facts: dict[int, DealerFacts] = {}
        self.settled_today: set[int] = set()
        # What to write.
        self.changed_accounts: dict[int, CollectionAccount] = {}
        self.moved: set[int] = set()
        self.cycles_as_loaded: dict[int, dt.date | None] = {}
        self.stage_changes: list[StageChange] = []
        self.decided_promises: list[Promise] = []
        self.escalation_reasons: dict[int, list[str]] = defaultdict(list)
        self.escalations: list[Escalation] = []
        self.letters: list[Letter] = []
        self.cycle_letters: dict[int, list[Letter]] = defaultdict(list)
        self.interest: list[tuple[Order, InterestCharge]] = []
        self.tasks: list[Task] = []
        self.alerts: list[Alert] = []

    def run(self) -> None:
        self.lock_accounts()
        if not self.accounts:
            return
        dealers = Dealer.objects.filter(pk__range=(self.first, self.last))
        self.facts = facts_for(dealers, today=self.today, policy=self.policy)
        for dealer_id, account in self.accounts.items():
            account.facts = self.facts[dealer_id]
            account.policy = self.policy
        self.move_stages()
        self.check_promises()
        self.propose_escalations()
        self.load_cycle_letters()
        self.issue_letters()
        self.post_interest()
        self.warn_of_limitation()
        self.write()

    # Reading ---------------------------------------------------------------------------

    def lock_accounts(self) -> None:
        """Every dealer of the batch gets an account; all of them are locked, so that a
        collector's or manager's change waits for the batch (and then sees its result)."""
        missing = list(
            Dealer.objects.filter(pk__range=(self.first, self.last), account__isnull=True)
            .order_by()
            .values_list("pk", flat=True)
        )
        if missing:
            CollectionAccount.objects.bulk_create(
                [CollectionAccount(dealer_id=dealer_id) for dealer_id in missing],
                ignore_conflicts=True,
            )
        accounts = (
            CollectionAccount.objects.select_for_update()
            .filter(dealer_id__gte=self.first, dealer_id__lte=self.last)
            .order_by("pk")
        )
        self.accounts = {account.dealer_id: account for account in accounts}
        self.cycles_as_loaded = {d: a.cycle_started_on for d, a in self.accounts.items()}
        opened = [self.accounts[d] for d in missing if d in self.accounts]
        if opened:
            get_history_manager_for_model(CollectionAccount).bulk_history_create(
                opened, default_change_reason="account opened by the daily sweep"
            )
            self.counts["accounts_opened"] += len(opened)

    def load_cycle_letters(self) -> None:
        """The reminders and final demands of each account's current overdue episode."""
        in_cycle = {
            d: a.cycle_started_on
            for d, a in self.accounts.items()
            if a.stage != Stage.CURRENT and a.cycle_started_on is not None
        }
        if not in_cycle:
            return
        letters = Letter.objects.filter(
            dealer_id__in=list(in_cycle),
            kind__in=[Letter.Kind.REMINDER, Letter.Kind.FINAL_DEMAND],
            cycle_started_on__isnull=False,
        ).order_by("pk")
        for letter in letters:
            if letter.cycle_started_on == in_cycle[letter.dealer_id]:
                self.cycle_letters[letter.dealer_id].append(letter)

    # Deciding --------------------------------------------------------------------------

    def move_stages(self) -> None:
        policy = self.policy
        for dealer_id, account in self.accounts.items():
            days = self.facts[dealer_id].overdue_days
            if account.stage == Stage.CURRENT and days > policy.grace_days:
                grace = (
                    f"reminder after {policy.grace_days} days' grace"
                    if policy.grace_days
                    else "reminder when anything is past due"
                )
                self.move(account, "remind", f"oldest order {days} days past due (policy: {grace})")
            if account.stage == Stage.REMINDER and days >= policy.soft_after_days:
                self.move(
                    account,
                    "soften",
                    f"oldest order {days} days past due (policy: soft at {policy.soft_after_days})",
                )
            if account.stage in SETTLE_FROM and days <= 0:
                self.move(account, "settle", "nothing past due any more; back to current")
                self.settled_today.add(dealer_id)
            if account.stage != Stage.CURRENT and account.cycle_started_on is None and days > 0:
                # An account moved by hand before it had an episode date: start it now, so
                # that its letters go once.
                account.cycle_started_on = self.today
                self.changed_accounts[dealer_id] = account

    def move(self, account: CollectionAccount, verb: str, reason: str) -> None:
        from_stage = account.stage
        getattr(account, verb)(on=self.today)
        self.stage_changes.append(
            StageChange(
                dealer_id=account.dealer_id,
                from_stage=from_stage,
                to_stage=account.stage,
                on=self.today,
                by=None,
                reason=reason,
            )
        )
        previous = getattr(account, "_change_reason", "")
        account._change_reason = f"{previous}; {reason}" if previous else reason  # type: ignore[attr-defined]
        self.changed_accounts[account.dealer_id] = account
        self.moved.add(account.dealer_id)
        self.counts[f"moved_to_{account.stage}"] += 1

    def check_promises(self) -> None:
        """Decide the promises whose day has passed (DOMAIN.md line 8), and all open
        promises of accounts settled today (nothing is owed, so they count as kept)."""
        today = self.today
        to_decide: dict[int, list[tuple[Promise, dt.date]]] = defaultdict(list)
        for promise in Promise.objects.filter(
            dealer_id__gte=self.first, dealer_id__lte=self.last, status=Promise.Status.OPEN
        ).order_by("due_on", "pk"):
            if promise.dealer_id in self.settled_today:
                to_decide[promise.dealer_id].append((promise, min(promise.due_on, today)))
            elif promise.due_on < today:
                to_decide[promise.dealer_id].append((promise, promise.due_on))
        if not to_decide:
            return

        window_start = today - dt.timedelta(days=self.policy.broken_promise_window_days)
        earliest = min(p.made_on for checks in to_decide.values() for p, _ in checks)
        decided: dict[int, list[Promise]] = defaultdict(list)
        for promise in (
            Promise.objects.filter(
                dealer_id__in=list(to_decide), due_on__gte=min(earliest, window_start)
            )
            .exclude(status=Promise.Status.OPEN)
            .order_by("due_on", "pk")
        ):
            decided[promise.dealer_id].append(promise)
            earliest = min(earliest, promise.made_on)
        payments: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        for dealer_id, received_on, amount in Payment.objects.filter(
            dealer_id__in=list(to_decide), received_on__gte=earliest, received_on__lte=today
        ).values_list("dealer_id", "received_on", "amount"):
            payments[dealer_id].append((received_on, amount))

        for dealer_id, checks in to_decide.items():
            windows = [
                rules.PromiseWindow(p.made_on, p.due_on, p.received_amount, None)
                for p in decided[dealer_id]
            ]
            windows += [
                rules.PromiseWindow(p.made_on, closes, p.amount, p.pk) for p, closes in checks
            ]
            counted = rules.count_promise_money(windows, payments[dealer_id])
            newly_broken = []
            for promise, _closes in checks:
                received = counted[promise.pk]
                status: str
                if dealer_id in self.settled_today:
                    status = Promise.Status.KEPT
                    why = "kept: nothing is past due any more"
                else:
                    status = rules.promise_outcome(promise.amount, received)
                    why = f"{Promise.Status(status).label.lower()}: received {received:.2f}"
                promise.status = status
                promise.received_amount = received
                promise.checked_on = today
                promise._change_reason = f"checked by the daily sweep, {why}"  # type: ignore[attr-defined]
                self.decided_promises.append(promise)
                self.counts[f"promises_{status}"] += 1
                if promise.is_broken:
                    newly_broken.append(promise)
                    self.follow_up_broken_promise(promise, received)
            if newly_broken:
                before = [
                    p
                    for p in decided[dealer_id]
                    if p.is_broken and window_start <= p.due_on < today
                ]
                broken = before + newly_broken
                if len(broken) >= self.policy.broken_promises_for_hard:
                    self.escalation_reasons[dealer_id].append(
                        f"{len(broken)} broken promises within "
                        f"{self.policy.broken_promise_window_days} days: "
                        + ", ".join(rules.describe_promise(p) for p in broken)
                    )

    def follow_up_broken_promise(self, promise: Promise, received: Decimal) -> None:
        facts = self.facts[promise.dealer_id]
        outcome = "partly kept" if received > 0 else "broken"
        self.tasks.append(
            Task(
                dealer_id=promise.dealer_id,
                assignee_id=facts.collector_id,
                kind=Task.Kind.CALL,
                due_on=next_business_day_on_or_after(facts.country, self.today),
                window_from=self.window[0],
                window_to=self.window[1],
                reason=(
                    f"{rules.describe_promise(promise).capitalize()} was {outcome}: received "
                    f"{received:.2f} of {promise.amount:.2f}. Ask for the rest: a date and "
                    "an amount."
                ),
                source_key=f"promise-broken:{promise.pk}",
            )
        )

    def propose_escalations(self) -> None:
        """Propose hard collection at `hard_proposal_days` past due or on the second broken
        promise in the window. A pending request is never doubled (the database's partial
        unique constraint backs this), and a rejected one is not proposed again for
        `REJECTION_COOLDOWN_DAYS` days."""
        policy = self.policy
        candidates: dict[int, list[str]] = {}
        for dealer_id, account in self.accounts.items():
            if account.stage not in PROPOSE_HARD_FROM:
                continue
            reasons = list(self.escalation_reasons.get(dealer_id, []))
            days = self.facts[dealer_id].overdue_days
            if days >= policy.hard_proposal_days:
                reasons.insert(
                    0,
                    f"oldest order {days} days past due "
                    f"(policy: hard proposed at {policy.hard_proposal_days})",
                )
            if reasons:
                candidates[dealer_id] = reasons
        if not candidates:
            return
        cooldown_start = dt.datetime.combine(
            self.today - dt.timedelta(days=rules.REJECTION_COOLDOWN_DAYS),
            dt.time.min,
            tzinfo=ZoneInfo(settings.BUSINESS_TIME_ZONE),
        )
        blocked = set(
            Escalation.objects.filter(dealer_id__in=list(candidates), to_stage=Stage.HARD)
            .filter(
                Q(status=Escalation.Status.PENDING)
                | Q(status=Escalation.Status.REJECTED, decided_at__gte=cooldown_start)
            )
            .values_list("dealer_id", flat=True)
        )
        escalations = [
            Escalation(
                dealer_id=dealer_id,
                to_stage=Stage.HARD,
                reason="Proposed by the daily sweep: " + "; ".join(reasons) + ".",
                requested_by=None,
                requested_on=self.today,
            )
            for dealer_id, reasons in candidates.items()
            if dealer_id not in blocked
        ]
        self.escalations = escalations
        if escalations:
            self.counts["escalations_proposed"] += len(escalations)

    def issue_letters(self) -> None:
        """The letter the age of the debt calls for, once per overdue episode. A dealer
        first seen late gets the highest letter due, not the ones it skipped."""
        policy = self.policy
        for dealer_id, account in self.accounts.items():
            facts = self.facts[dealer_id]
            if account.stage not in LETTER_STAGES or facts.overdue_days <= 0:
                continue
            level = rules.letter_level_due(facts.overdue_days, policy)
            sent = max((letter.level for letter in self.cycle_letters[dealer_id]), default=0)
            if level <= sent:
                continue
            letter = Letter(
                dealer_id=dealer_id,
                kind=rules.letter_kind(level),
                level=level,
                issued_on=self.today,
                cycle_started_on=account.cycle_started_on,
                amount=facts.overdue,
            )
            if level == rules.FINAL_DEMAND_LEVEL:
                # The written notice that interest at this rate runs after the deadline
                # (DOMAIN.md line 13); a deadline on a day off moves to the next business day.
                letter.interest_rate_percent = policy.interest_rate_percent
                letter.deadline = next_business_day_on_or_after(
                    facts.country, self.today + dt.timedelta(days=policy.notice_deadline_days)
                )
            self.letters.append(letter)
            self.counts[f"letters_{letter.kind}_{level}"] += 1

    def post_interest(self) -> None:
        """Interest on the overdue feed orders named by a final demand, once its deadline
        has passed (DOMAIN.md line 13), posted as an interest order that payments settle.

        The principal is what is open today on sale orders due before the deadline; the
        period runs from the day after the deadline (or the last charge) to yesterday.
        """
        today = self.today
        notices = [
            letter
            for dealer_id, letters in self.cycle_letters.items()
            if self.accounts[dealer_id].stage not in (Stage.CURRENT, Stage.WRITTEN_OFF)
            for letter in letters
            if letter.kind == Letter.Kind.FINAL_DEMAND
            and letter.deadline is not None
            and letter.deadline < today
            and letter.interest_rate_percent
        ]
        if not notices:
            return
        last_charged = dict(
            InterestCharge.objects.filter(notice_id__in=[n.pk for n in notices])
            .values("notice_id")
            .annotate(last=Max("period_to"))
            .values_list("notice_id", "last")
        )
        due: list[tuple[Letter, dt.date, dt.date]] = []
        for notice in notices:
            assert notice.deadline is not None
            period = rules.interest_period(
                today=today,
                deadline=notice.deadline,
                last_period_to=last_charged.get(notice.pk),
                posting_days=self.policy.interest_posting_days,
            )
            if period is not None:
                due.append((notice, *period))
        if not due:
            return
        open_orders: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        for dealer_id, due_on, open_amount in (
            Order.objects.filter(
                dealer_id__in=[n.dealer_id for n, _, _ in due],
                kind=Order.Kind.SALE,
                due_on__lt=today,
            )
            .open_on(today)
            .order_by()
            .values_list("dealer_id", "due_on", "open_amount")  # type: ignore[misc]
        ):
            open_orders[dealer_id].append((due_on, open_amount))
        for notice, period_from, period_to in due:
            assert notice.deadline is not None and notice.interest_rate_percent is not None
            principal = sum(
                (
                    amount
                    for due_on, amount in open_orders[notice.dealer_id]
                    if due_on < notice.deadline
                ),
                ZERO,
            )
            days = (period_to - period_from).days + 1
            amount = rules.interest_amount(principal, notice.interest_rate_percent, days)
            if amount < CENT:
                continue
            code = self.facts[notice.dealer_id].code
            number = f"INT-{code}-{today:%Y%m%d}"
            if len(number) > Order._meta.get_field("number").max_length:  # type: ignore[operator]
                number = f"INT-{notice.dealer_id}-{today:%Y%m%d}"
            order = Order(
                number=number,
                dealer_id=notice.dealer_id,
                kind=Order.Kind.INTEREST,
                ordered_on=today,
                due_on=today,
                amount=amount,
            )
            charge = InterestCharge(
                notice=notice,
                period_from=period_from,
                period_to=period_to,
                principal=principal,
                rate_percent=notice.interest_rate_percent,
            )
            self.interest.append((order, charge))
            self.interest_total += amount
        if self.interest:
            self.counts["interest_charges"] += len(self.interest)

    def warn_of_limitation(self) -> None:
        """Warn when the limitation period of the oldest overdue order nears (DOMAIN.md
        line 16): an alert for the manager and a review task (unassigned: managers see
        those) to go to law or get a signed acknowledgment."""
        policy = self.policy
        near = [
            dealer_id
            for dealer_id, account in self.accounts.items()
            if account.stage not in NO_LIMITATION_WARNING
            and (oldest := self.facts[dealer_id].oldest_due_on) is not None
            # The clock cannot start before the due date: most dealers are ruled out here.
            and rules.limitation_warning_from(oldest, policy) <= self.today
        ]
        if not near:
            return
        last_payment = Payment.objects.filter(dealer=OuterRef("pk")).order_by("-received_on")
        last_promise = Promise.objects.filter(dealer=OuterRef("pk")).order_by("-made_on")
        rows = (
            Dealer.objects.filter(pk__in=near)
            .order_by()
            .annotate(
                last_payment_on=Subquery(last_payment.values("received_on")[:1]),
                last_promise_on=Subquery(last_promise.values("made_on")[:1]),
            )
            .values_list("pk", "last_payment_on", "last_promise_on")
        )
        for dealer_id, last_payment_on, last_promise_on in rows:
            facts = self.facts[dealer_id]
            assert facts.oldest_due_on is not None
            start = rules.limitation_clock_start(
                facts.oldest_due_on, last_payment_on, last_promise_on
            )
            if rules.limitation_warning_from(start, policy) > self.today:
                continue
            ends_on = rules.add_years(start, policy.limitation_years)
            message = (
                f"The limitation period for {facts.code} ends on {ends_on:%Y-%m-%d} "
                f"({policy.limitation_years} years from the last acknowledgment, "
                f"{start:%Y-%m-%d}); {facts.overdue:.2f} is overdue. Go to law now or obtain "
                "a signed acknowledgment of the debt."
            )
            self.alerts.append(
                Alert(
                    dealer_id=dealer_id,
                    kind=Alert.Kind.LIMITATION,
                    message=message,
                    source_key=f"limitation:{dealer_id}:{start:%Y-%m-%d}",
                )
            )
            self.tasks.append(
                Task(
                    dealer_id=dealer_id,
                    assignee=None,
                    kind=Task.Kind.REVIEW,
                    due_on=next_business_day_on_or_after(facts.country, self.today),
                    reason=message,
                    source_key=f"limitation-review:{dealer_id}:{start:%Y-%m-%d}",
                )
            )

    # Writing ---------------------------------------------------------------------------

    def write(self) -> None:
        if self.decided_promises:
            bulk_update_with_history(
                self.decided_promises,
                Promise,
                ["status", "received_amount", "checked_on"],
                default_change_reason=CHANGE_REASON,
            )
        if self.changed_accounts:
            self.write_accounts()
        if self.stage_changes:
            StageChange.objects.bulk_create(self.stage_changes)
        if self.escalations:
            created = bulk_create_with_history(
                self.escalations, Escalation, default_change_reason="proposed by the daily sweep"
            )
            for escalation in created:
                self.alerts.append(
                    Alert(
                        dealer_id=escalation.dealer_id,
                        kind=Alert.Kind.ESCALATION,
                        message=(
                            f"{self.facts[escalation.dealer_id].code}: escalation to hard "
                            f"collection awaits a decision. {escalation.reason}"
                        ),
                        source_key=f"escalation:{escalation.pk}",
                    )
                )
        if self.letters:
            bulk_create_with_history(
                self.letters, Letter, default_change_reason="issued by the daily sweep"
            )
        if self.interest:
            self.write_interest()
        self.write_tasks()
        self.write_alerts()

    def write_accounts(self) -> None:
        """The moved accounts, with one UPDATE per distinct new value: the few stages moved
        to today, and episode dates set to today or cleared. Django's `bulk_update` (a CASE
        per row and field) costs about a second of Python per 500 accounts on a busy day.
        The rows are locked by this transaction, and the history rows are written exactly
        as `bulk_update_with_history` writes them, with each account's reason."""
        accounts = list(self.changed_accounts.values())
        by_stage: dict[tuple[str, dt.date | None], list[int]] = defaultdict(list)
        by_cycle: dict[dt.date | None, list[int]] = defaultdict(list)
        for account in accounts:
            if account.dealer_id in self.moved:
                by_stage[(account.stage, account.stage_since)].append(account.pk)
            if account.cycle_started_on != self.cycles_as_loaded[account.dealer_id]:
                by_cycle[account.cycle_started_on].append(account.pk)
        for (stage, since), pks in by_stage.items():
            CollectionAccount.objects.filter(pk__in=pks).update(stage=stage, stage_since=since)
        for cycle, pks in by_cycle.items():
            CollectionAccount.objects.filter(pk__in=pks).update(cycle_started_on=cycle)
        get_history_manager_for_model(CollectionAccount).bulk_history_create(
            accounts, update=True, default_change_reason=CHANGE_REASON
        )

    def write_interest(self) -> None:
        orders = bulk_create_with_history(
            [order for order, _ in self.interest],
            Order,
            default_change_reason="interest posted by the daily sweep",
        )
        charges = []
        for order, (_, charge) in zip(orders, self.interest, strict=True):
            charge.order = order
            charges.append(charge)
        bulk_create_with_history(
            charges, InterestCharge, default_change_reason="interest posted by the daily sweep"
        )
        # Credit waiting on the dealer's account settles the new line at once.
        reallocate_dealers({order.dealer_id for order in orders})

    def write_tasks(self) -> None:
        tasks = _not_yet_made(Task, self.tasks)
        if tasks:
            bulk_create_with_history(tasks, Task, default_change_reason="made by the daily sweep")
            self.counts.update(f"tasks_{task.kind}" for task in tasks)

    def write_alerts(self) -> None:
        alerts = _not_yet_made(Alert, self.alerts)
        if alerts:
            Alert.objects.bulk_create(alerts, ignore_conflicts=True)
            self.counts.update(f"alerts_{alert.kind}" for alert in alerts)
            _mail_managers_after_commit(alerts)


def _not_yet_made(model: type[Task] | type[Alert], objs: Iterable[Any]) -> list[Any]:
    """The objects whose `source_key` is not in the table yet (one query)."""
    wanted = {obj.source_key: obj for obj in objs}
    if not wanted:
        return []
    existing = set(
        model.objects.filter(source_key__in=list(wanted)).values_list("source_key", flat=True)
    )
    return [obj for key, obj in wanted.items() if key not in existing]


def _mail_managers_after_commit(alerts: list[Alert]) -> None:
    """One e-mail per batch to the managers, sent once the batch is committed (a batch
    that rolls back alerts nobody)."""
    subject = f"[Receivables Desk] Daily sweep: {len(alerts)} new alert(s)"
    body = "\n\n".join(f"{alert.get_kind_display()}: {alert.message}" for alert in alerts)
    mail_managers_after_commit(subject, body)
