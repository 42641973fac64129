"""Forms of the approvals page (`dunning.views.approvals`): which escalations to list and
in what order, and the decisions taken on one request or on the ticked ones.

Like `dunning.forms`, they check the shape of the input only; whether a request may be
decided, and that a rejection needs a reason, is the services' call
(`dunning.services.escalations.decide_escalations`), whose `InvalidInput(field, ...)`
lands on the field of the same name. Turning the filters into QuerySet filters and the
sort into an ordering is done here, next to the fields that name them (as the dealer
list's form does); the figures themselves come from the kept dealer figures.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from dunning.models import ESCALATED_STAGES, Escalation
from dunning.models.escalations import EscalationQuerySet
from receivables.roles import Role, role_of

# The most requests one decision takes: more than a page of the queue shows.
MAX_DECIDED_AT_ONCE = 100
NOTE_MAX = 2000

STATUS_LABELS = {
    Escalation.Status.PENDING: _("Pending"),
    Escalation.Status.APPROVED: _("Approved"),
    Escalation.Status.REJECTED: _("Rejected"),
    Escalation.Status.CLOSED: _("Closed by the sweep"),
}
# Who asked: anyone, any person, the daily sweep, or one user (by id).
BY_A_PERSON = "person"
BY_THE_SWEEP = "sweep"


class EscalationFilterForm(forms.Form):
    """The queue's filters and its order. Every field may be left out; an invalid one
    is ignored (its error shown beside it) rather than emptying the list."""

    # Sort keys and their order in SQL; a request whose dealer's currency has no rate
    # has no amount in the reporting currency and comes last either way.
    SORTS: dict[str, tuple[Any, list[Any]]] = {
        "-overdue": (
            _("Most overdue first"),
            [F("overdue_in_reporting").desc(nulls_last=True), "-requested_at", "-pk"],
        ),
        "overdue": (
            _("Least overdue first"),
            [F("overdue_in_reporting").asc(nulls_last=True), "-requested_at", "-pk"],
        ),
        "-days": (
            _("Longest past due first"),
            [F("oldest_due_on").asc(nulls_last=True), "-requested_at", "-pk"],
        ),
        "days": (
            _("Shortest past due first"),
            [F("oldest_due_on").desc(nulls_last=True), "-requested_at", "-pk"],
        ),
        "requested": (_("Oldest request first"), ["requested_at", "pk"]),
        "-requested": (_("Newest request first"), ["-requested_at", "-pk"]),
        "dealer": (_("Dealer code A-Z"), ["dealer__code", "to_stage", "-pk"]),
        "-dealer": (_("Dealer code Z-A"), ["-dealer__code", "to_stage", "-pk"]),
    }
    DEFAULT_SORT = "-overdue"

    q = forms.CharField(label=_("Dealer"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[*STATUS_LABELS.items(), ("", _("All"))],
    )
    to_stage = forms.ChoiceField(label=_("Move to"), required=False)
    requested_by = forms.ChoiceField(label=_("Requested by"), required=False)
    collector = forms.TypedChoiceField(
        label=_("Collector"), required=False, coerce=int, empty_value=None
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
    )

    def __init__(self, *args: Any, escalations: EscalationQuerySet, user: Any, **kwargs: Any):
        """`escalations`: those the user may see, whose requesters and collectors the
        filters offer (one query each)."""
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Code or name"), "type": "search", "autocomplete": "off"}
        )
        to_stage = self.fields["to_stage"]
        assert isinstance(to_stage, forms.ChoiceField)
        to_stage.choices = [("", _("Any stage"))] + [(s.value, s.label) for s in ESCALATED_STAGES]
        if role_of(user) in (Role.COLLECTOR, Role.AGENCY):
            # They see their own requests only: these filters would offer one name.
            del self.fields["requested_by"]
            del self.fields["collector"]
            return
        users = get_user_model().objects.order_by("username")
        requested_by = self.fields["requested_by"]
        assert isinstance(requested_by, forms.ChoiceField)
        requested_by.choices = [
            ("", _("Anyone")),
            (BY_A_PERSON, _("A person")),
            (BY_THE_SWEEP, _("The daily sweep")),
        ] + [
            (str(u.pk), _name(u))
            for u in users.filter(
                pk__in=escalations.exclude(requested_by=None).values("requested_by")
            )
        ]
        collector = self.fields["collector"]
        assert isinstance(collector, forms.ChoiceField)
        collector.choices = [("", _("Any collector"))] + [
            (u.pk, _name(u))
            for u in users.filter(
                pk__in=escalations.exclude(dealer__collector=None).values("dealer__collector")
            )
        ]

    @property
    def sort_key(self) -> str:
        if self.is_valid() and self.cleaned_data["sort"]:
            return str(self.cleaned_data["sort"])
        return self.DEFAULT_SORT

    @property
    def ordering(self) -> list[Any]:
        return self.SORTS[self.sort_key][1]

    @property
    def chosen_status(self) -> str:
        return str(self.cleaned_data.get("status") or "") if self.is_valid() else ""

    def filter_escalations(self, escalations: EscalationQuerySet) -> EscalationQuerySet:
        """`escalations` narrowed by the valid filters (not yet sorted)."""
        data = self.cleaned_data if self.is_valid() else {}
        if status := data.get("status"):
            escalations = escalations.filter(status=status)
        if to_stage := data.get("to_stage"):
            escalations = escalations.filter(to_stage=to_stage)
        requested_by = data.get("requested_by")
        if requested_by == BY_A_PERSON:
            escalations = escalations.filter(requested_by__isnull=False)
        elif requested_by == BY_THE_SWEEP:
            escalations = escalations.filter(requested_by__isnull=True)
        elif requested_by:
            escalations = escalations.filter(requested_by=int(requested_by))
        if collector := data.get("collector"):
            escalations = escalations.filter(dealer__collector=collector)
        if query := (data.get("q") or "").strip():
            escalations = escalations.filter(
                Q(dealer__code__icontains=query) | Q(dealer__name__icontains=query)
            )
        return escalations


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


class DecisionForm(forms.Form):
    """One request decided from its row."""

    note = forms.CharField(label=_("Note"), required=False, max_length=NOTE_MAX)


class BulkDecisionForm(forms.Form):
    """The ticked requests (`escalation`, repeated), approved or rejected (`decision`,
    the button pressed) with one note."""

    APPROVE = "approve"
    REJECT = "reject"

    escalation = forms.TypedMultipleChoiceField(
        label=_("Requests"),
        coerce=int,
        error_messages={"required": _("Tick the requests to decide.")},
    )
    note = forms.CharField(
        label=_("Note for the selected requests"),
        help_text=_(
            "Optional when approving; a rejection needs a reason, which the requester reads."
        ),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    decision = forms.ChoiceField(
        choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))],
        error_messages={"required": _("Choose Approve selected or Reject selected.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its note is not confused with the notes of the rows' own forms.
        kwargs.setdefault("auto_id", "bulk-%s")
        super().__init__(*args, **kwargs)
        # The numbers as ticked, each once; anything else names no request and is left
        # out (nothing ticked at all is then the error).
        ids = [str(i) for i in self._ticked_order()]
        if isinstance(self.data, QueryDict):
            data = self.data.copy()
            data.setlist("escalation", ids)
            self.data = data
        escalation = self.fields["escalation"]
        assert isinstance(escalation, forms.ChoiceField)
        escalation.choices = [(i, i) for i in ids]

    def clean_escalation(self) -> list[int]:
        ids: list[int] = self.cleaned_data["escalation"]
        if len(ids) > MAX_DECIDED_AT_ONCE:
            raise forms.ValidationError(
                _("Decide at most %(most)s requests at a time."),
                params={"most": MAX_DECIDED_AT_ONCE},
            )
        return ids

    @property
    def approve(self) -> bool:
        return self.cleaned_data.get("decision") == self.APPROVE

    def _ticked_order(self) -> list[int]:
        """The numbers ticked, each once, in the order posted; anything else left out."""
        raw = self.data.getlist("escalation") if hasattr(self.data, "getlist") else []
        return list(dict.fromkeys(int(v) for v in raw if v.isdigit() and len(v) <= 12))

    def ticked(self) -> set[int]:
        """The numbers ticked, to tick them again when the page comes back."""
        return set(self._ticked_order())
