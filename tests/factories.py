"""factory_boy factories for the whole suite."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from receivables.balances import refresh
from receivables.models import Agency, Contact, Dealer, Order, Payment

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @classmethod
    def _create(cls, model_class, *args, role: str | None = None, **kwargs):
        user = super()._create(model_class, *args, **kwargs)
        if role:
            user.groups.add(Group.objects.get(name=role))
            if role == "agency":
                agency, _ = Agency.objects.get_or_create(name="Northern Recovery Ltd")
                agency.users.add(user)
        return user


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Agency {n}")
    commission_percent = Decimal("15.00")


class DealerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dealer

    code = factory.Sequence(lambda n: f"D{n:05d}")
    name = factory.Sequence(lambda n: f"Dealer {n} Feed & Farm Supply")
    country = "DE"
    currency = "EUR"
    language = "de"
    address = "Hauptstrasse 1\n12345 Musterstadt"
    payment_terms_days = 30
    credit_limit = Decimal("50000.00")
    region = "North"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    dealer = factory.SubFactory(DealerFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    role = Contact.Role.OWNER
    phone = "+49 30 1234567"


class _LedgerRowFactory(factory.django.DjangoModelFactory):
    """Orders and payments made here skip the services, and with them the allocation rule
    that keeps each dealer's figures (receivables.balances): the dealer's kept row is
    refreshed here as the services would (allocations are left to the test)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        row = super()._create(model_class, *args, **kwargs)
        refresh([row.dealer_id])
        return row


class OrderFactory(_LedgerRowFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"{n:010d}")
    dealer = factory.SubFactory(DealerFactory)
    ordered_on = dt.date(2026, 1, 5)
    due_on = factory.LazyAttribute(lambda o: o.ordered_on + dt.timedelta(days=30))
    amount = Decimal("1000.00")


class PaymentFactory(_LedgerRowFactory):
    class Meta:
        model = Payment

    reference = factory.Sequence(lambda n: f"PAY-{n:06d}")
    dealer = factory.SubFactory(DealerFactory)
    received_on = dt.date(2026, 2, 1)
    amount = Decimal("1000.00")


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        # By label: the imports above stay as they are.
        model = "receivables.ExchangeRate"

    currency = "CZK"
    on = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    rate = Decimal("0.04000000")
