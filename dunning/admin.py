from django.contrib import admin

from dunning.models import (
    Alert,
    CollectionAccount,
    CollectionPolicy,
    ContactLog,
    DealerEvent,
    Escalation,
    Evidence,
    Excuse,
    InstallmentPlan,
    InterestCharge,
    Letter,
    Promise,
    StageChange,
    SweepBatch,
    Task,
)
from receivables.admin import ReadOnlyHistoryAdmin


@admin.register(CollectionPolicy)
class CollectionPolicyAdmin(ReadOnlyHistoryAdmin):
    """Managers edit the one policy here; every change is kept in its history."""

    fieldsets = [
        (
            "Letters and stages",
            {
                "fields": [
                    "grace_days",
                    "reminder_level1_days",
                    "reminder_level2_days",
                    "final_demand_days",
                    "notice_deadline_days",
                    "soft_after_days",
                    "hard_proposal_days",
                    "broken_promises_for_hard",
                    "broken_promise_window_days",
                ]
            },
        ),
        (
            "Interest and limitation",
            {
                "fields": [
                    "interest_rate_percent",
                    "interest_posting_days",
                    "limitation_years",
                    "limitation_warning_days",
                ]
            },
        ),
        (
            "Contact rules",
            {
                "fields": [
                    "calls_per_day",
                    "calls_per_week",
                    "quiet_until",
                    "quiet_from",
                    "no_calls_on_sundays",
                    "no_calls_on_holidays",
                    "suggested_from",
                    "suggested_to",
                    "lunch_from",
                    "lunch_to",
                ]
            },
        ),
        (
            "Risk classes (days past due of the oldest order)",
            {
                "fields": [
                    "quasi_bad_after_days",
                    "bad_after_days",
                    "dead_after_days",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return not CollectionPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(CollectionAccount)
class CollectionAccountAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "stage", "stage_since", "default_cause", "disposition"]
    list_filter = ["stage", "default_cause", "disposition"]
    search_fields = ["dealer__code", "dealer__name"]
    list_select_related = ["dealer"]
    raw_id_fields = ["dealer", "credit_hold_override_by"]
    # The stage moves only through transitions (services), never by editing the field.
    readonly_fields = ["stage", "stage_since", "cycle_started_on"]


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["dealer", "from_stage", "to_stage", "on", "by", "reason"]
    list_filter = ["to_stage", "from_stage", "on"]
    search_fields = ["dealer__code", "dealer__name", "reason"]
    list_select_related = ["dealer", "by"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "to_stage", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["status", "to_stage"]
    search_fields = ["dealer__code", "dealer__name", "reason"]
    list_select_related = ["dealer", "requested_by", "decided_by"]
    raw_id_fields = ["dealer", "evidence"]
    readonly_fields = ["status", "decided_by", "decided_at"]


@admin.register(Promise)
class PromiseAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "amount", "requested_due_on", "due_on", "status", "made_by"]
    list_filter = ["status", "due_on"]
    search_fields = ["dealer__code", "dealer__name", "note"]
    list_select_related = ["dealer", "made_by"]
    raw_id_fields = ["dealer", "plan"]


@admin.register(InstallmentPlan)
class InstallmentPlanAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "made_on", "made_by"]
    search_fields = ["dealer__code", "dealer__name"]
    raw_id_fields = ["dealer"]


@admin.register(Excuse)
class ExcuseAdmin(ReadOnlyHistoryAdmin):
    list_display = ["text", "ask", "active", "position"]
    list_editable = ["active", "position"]
    search_fields = ["text", "counter_script", "ask"]


@admin.register(ContactLog)
class ContactLogAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "channel", "at", "outcome", "excuse", "logged_by", "broken_rule"]
    list_filter = ["channel", "outcome", "excuse"]
    search_fields = ["dealer__code", "dealer__name", "note"]
    list_select_related = ["dealer", "excuse", "logged_by"]
    raw_id_fields = ["dealer", "person", "promise"]


@admin.register(Task)
class TaskAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "kind", "assignee", "due_on", "window_from", "window_to", "done_at"]
    list_filter = ["kind", "due_on"]
    search_fields = ["dealer__code", "dealer__name", "reason"]
    list_select_related = ["dealer", "assignee"]
    raw_id_fields = ["dealer"]


@admin.register(DealerEvent)
class DealerEventAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "kind", "occurred_on", "reported_by"]
    list_filter = ["kind"]
    search_fields = ["dealer__code", "dealer__name", "note"]
    raw_id_fields = ["dealer"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "description", "sha256", "uploaded_by", "uploaded_at"]
    search_fields = ["dealer__code", "description", "sha256"]
    readonly_fields = ["sha256"]
    raw_id_fields = ["dealer"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["dealer", "kind", "created_at", "acknowledged_by"]
    list_filter = ["kind"]
    search_fields = ["dealer__code", "message"]
    raw_id_fields = ["dealer"]


@admin.register(Letter)
class LetterAdmin(ReadOnlyHistoryAdmin):
    list_display = ["dealer", "kind", "level", "issued_on", "amount", "deadline"]
    list_filter = ["kind", "level", "issued_on"]
    search_fields = ["dealer__code", "dealer__name"]
    raw_id_fields = ["dealer"]
    readonly_fields = ["sha256"]


@admin.register(InterestCharge)
class InterestChargeAdmin(ReadOnlyHistoryAdmin):
    list_display = ["notice", "order", "period_from", "period_to", "principal", "rate_percent"]
    raw_id_fields = ["notice", "order"]


@admin.register(SweepBatch)
class SweepBatchAdmin(admin.ModelAdmin):
    list_display = ["business_date", "number", "first_dealer_id", "last_dealer_id", "finished_at"]
    list_filter = ["business_date"]
