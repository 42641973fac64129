from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from receivables.models import (
    Agency,
    Allocation,
    ApiToken,
    Contact,
    Dealer,
    ExchangeRate,
    Order,
    OrderLine,
    Payment,
)
from receivables.services import upsert_payment
from receivables.validation import (
    as_sentence,
    money_problem,
    rate_currency_problem,
    rate_problem,
)


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """History is evidence: it can be read in the admin but never reverted from it."""

    def revert_disabled(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return True


class ReadOnlyLedger:
    """Nothing can be added, changed or deleted here; the rows can still be viewed.

    Orders and payments decide the allocations (`receivables.allocation`), and with them
    `Order.settled_on`, balances and aging. A write that skipped the allocation rule
    would leave those stale, so orders and payments are written only where the rule is
    replayed: the API (`PUT /api/v1/orders/{number}`, `PUT /api/v1/payments/{reference}`),
    `manage.py import_ledger` and the payment correction of `PaymentAdmin`."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Dealer)
class DealerAdmin(ReadOnlyHistoryAdmin):
    list_display = ["code", "name", "country", "region", "collector", "agency", "credit_limit"]
    list_filter = ["country", "region", "currency", "collector", "agency"]
    search_fields = ["code", "name", "phone", "contacts__name"]
    list_select_related = ["collector", "agency"]
    raw_id_fields = ["collector"]
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(ReadOnlyHistoryAdmin):
    list_display = ["name", "dealer", "role", "phone", "email"]
    list_filter = ["role"]
    search_fields = ["name", "dealer__code", "dealer__name", "phone", "email"]
    list_select_related = ["dealer"]
    raw_id_fields = ["dealer"]


class OrderLineInline(ReadOnlyLedger, admin.TabularInline):
    """An order's lines, read-only like the order (see `ReadOnlyLedger`): the API's
    `PUT /api/v1/orders/{number}` replaces them."""

    model = OrderLine
    extra = 0


@admin.register(Order)
class OrderAdmin(ReadOnlyLedger, ReadOnlyHistoryAdmin):
    """Orders are read-only here: a change made in the admin would skip the allocation
    rule and leave settled_on, balances and aging stale. They are written by
    `PUT /api/v1/orders/{number}` and `import_ledger`, which re-allocate."""

    list_display = ["number", "dealer", "ordered_on", "due_on", "amount", "disputed"]
    list_filter = ["disputed", "due_on", "dealer__country"]
    search_fields = ["number", "dealer__code", "dealer__name"]
    date_hierarchy = "due_on"
    list_select_related = ["dealer"]
    raw_id_fields = ["dealer"]
    inlines = [OrderLineInline]


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["received_on", "amount", "method"]

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        problem = money_problem(amount)
        if problem:
            raise forms.ValidationError(f"The amount {problem}.")
        return amount


@admin.register(Payment)
class PaymentAdmin(ReadOnlyHistoryAdmin):
    """The back office corrects a payment here (its date, amount or method, as the bank
    statement shows it): the change is saved by `receivables.services.upsert_payment`,
    which replays the allocation rule for the dealer, so allocations, `settled_on` and
    the dealer's kept figures follow. Payments are added by `PUT
    /api/v1/payments/{reference}` and `import_ledger`, and never deleted: a payment
    received is evidence."""

    form = PaymentForm
    list_display = ["reference", "dealer", "received_on", "amount", "method", "order"]
    list_filter = ["method", "received_on"]
    search_fields = ["reference", "dealer__code", "dealer__name", "order__number"]
    date_hierarchy = "received_on"
    list_select_related = ["dealer", "order"]
    readonly_fields = ["reference", "dealer", "order"]
    fields = ["reference", "dealer", "order", "received_on", "amount", "method"]

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        if not form.has_changed():
            return
        upsert_payment(
            reference=obj.reference,
            dealer=obj.dealer.code,
            received_on=form.cleaned_data["received_on"],
            amount=form.cleaned_data["amount"],
            method=form.cleaned_data["method"],
            user=request.user,
            reason="corrected in the admin",
        )


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyLedger, ReadOnlyHistoryAdmin):
    """Allocations follow from orders and payments by the allocation rule
    (`receivables.allocation`); editing them by hand would break it, so they are read-only."""

    list_display = ["payment", "order", "amount", "applied_on"]
    list_filter = ["applied_on"]
    search_fields = ["payment__reference", "order__number", "order__dealer__code"]
    list_select_related = ["payment", "order"]
    raw_id_fields = ["payment", "order"]


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyLedger, ReadOnlyHistoryAdmin):
    """Order lines are read-only here like their orders; `PUT /api/v1/orders/{number}`
    (and its `lines`) writes them."""

    list_display = ["order", "product", "quantity", "unit_price"]
    search_fields = ["order__number", "product"]
    list_select_related = ["order"]
    raw_id_fields = ["order"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "commission_percent"]
    search_fields = ["name"]
    filter_horizontal = ["users"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "created_at", "last_used_at"]
    search_fields = ["user__username", "prefix"]
    readonly_fields = ["digest", "prefix", "created_at", "last_used_at"]
    list_select_related = ["user"]


class ExchangeRateForm(forms.ModelForm):
    """The checks of `receivables.rates.upsert_rate`, so that a rate entered here is
    refused for the same reasons as one sent to the API or imported."""

    class Meta:
        model = ExchangeRate
        fields = ["currency", "on", "rate"]

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"]
        problem = rate_currency_problem(currency)
        if problem:
            raise forms.ValidationError(as_sentence(problem))
        return currency

    def clean_rate(self) -> Decimal:
        rate: Decimal = self.cleaned_data["rate"]
        problem = rate_problem(rate)
        if problem:
            raise forms.ValidationError(f"The rate {problem}.")
        return rate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReadOnlyHistoryAdmin):
    """Finance keeps the rates here (or through `PUT /api/v1/rates/{currency}/{on}` and
    `import_ledger --rates`); every change is in the rate's history."""

    form = ExchangeRateForm
    list_display = ["currency", "on", "rate", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["currency"]
    date_hierarchy = "on"

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        # Saving an unchanged form would add a history row that records no change.
        if change and not form.has_changed():
            return
        super().save_model(request, obj, form, change)
