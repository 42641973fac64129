"""Demo data for `make run`: about 200 dealers, two years of orders and payments ending
today, demo users for every role. Deterministic for a given day; loaded once."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from receivables.allocation import reallocate_dealers
from receivables.dates import business_today
from receivables.models import Agency, Contact, Dealer, ExchangeRate, Order, OrderLine, Payment

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    ("manager", "manager"),
    ("collector1", "collector"),
    ("collector2", "collector"),
    ("collector3", "collector"),
    ("finance", "finance"),
    ("agency", "agency"),
    ("auditor", "auditor"),
]
AGENCY_NAME = "Northern Recovery Ltd"

# country: (currency, language, regions, towns)
COUNTRIES = {
    "DE": ("EUR", "de", ["Nord", "Süd", "Ost"], ["Oldenburg", "Vechta", "Cloppenburg", "Passau"]),
    "PL": ("PLN", "pl", ["Mazowsze", "Wielkopolska"], ["Poznań", "Kalisz", "Radom", "Płock"]),
    "NL": ("EUR", "nl", ["Gelderland", "Brabant"], ["Barneveld", "Boxmeer", "Ede", "Uden"]),
    "CZ": ("CZK", "cs", ["Morava", "Čechy"], ["Olomouc", "Jihlava", "Tábor", "Zlín"]),
    "AT": ("EUR", "de", ["Oberösterreich"], ["Wels", "Ried", "Steyr", "Linz"]),
    "ES": ("EUR", "es", ["Castilla y León", "Aragón"], ["Soria", "Huesca", "Zamora", "Lleida"]),
    "CN": ("CNY", "zh-hans", ["华北", "华东"], ["石家庄", "保定", "潍坊", "临沂"]),
}
# The street line of the demo's addresses, by country.
STREETS = {"ES": "Calle Mayor", "CN": "农业路", "PL": "ul. Polna", "NL": "Dorpsstraat"}
PRODUCTS = [
    ("Layer mash 16%", Decimal("412.00")),
    ("Broiler grower pellets", Decimal("455.00")),
    ("Dairy concentrate 22%", Decimal("389.00")),
    ("Pig finisher", Decimal("368.00")),
    ("Calf starter muesli", Decimal("540.00")),
]
NAMES = ["Agro", "Farm", "Feed", "Hof", "Rol", "Vee", "Zemed", "Land", "Korn", "Mühle"]
SUFFIXES = ["Handel", "Supply", "Partner", "Centrum", "Service", "& Söhne", "Coop"]
FIRST = ["Anna", "Jan", "Petra", "Tomasz", "Eva", "Klaus", "Marek", "Sanne", "Jiří", "Lena"]
LAST = ["Nowak", "Bauer", "de Vries", "Novák", "Huber", "Kowalski", "Jansen", "Schmid"]

# Euros for one unit of the demo's other currencies, about where they stood in 2026.
DEMO_RATES = {"PLN": Decimal("0.2350"), "CZK": Decimal("0.0400"), "CNY": Decimal("0.1200")}


def _dealer_name(rng: random.Random, country: str, town: str) -> str:
    if country == "CN":
        return f"{town}{rng.choice(['丰收', '金谷', '绿源', '华农', '牧丰'])}饲料经销部"
    if country == "ES":
        return f"Piensos {rng.choice(['del Campo', 'Ganaderos', 'La Vega', 'Agropecuaria'])} {town}"
    return f"{rng.choice(NAMES)}{rng.choice(NAMES).lower()} {rng.choice(SUFFIXES)} {town}"


# Paying habits: (share of dealers, days late range, share of orders left unpaid lately)
PROFILES = [
    ("prompt", 0.45, (-5, 3), 0.0),
    ("slow", 0.30, (5, 40), 0.05),
    ("struggling", 0.17, (20, 90), 0.35),
    ("stopped", 0.08, (30, 120), 1.0),
]


def _pick_profile(rng: random.Random) -> tuple[str, tuple[int, int], float]:
    pick = rng.random()
    for label, share, late, unpaid in PROFILES:
        if pick < share:
            return label, late, unpaid
        pick -= share
    label, _share, late, unpaid = PROFILES[-1]
    return label, late, unpaid


def _phone(rng: random.Random) -> str:
    return f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"


class Command(BaseCommand):
    help = "Load the demo ledger and demo users (once; later runs only print the users)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dealers", type=int, default=200)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, dealers: int, seed: int, **options: Any) -> None:
        users = self._ensure_users()
        if Dealer.objects.exists():
            self.stdout.write("Demo ledger already present; not loading it again.")
        else:
            self._load(users, count=dealers, rng=random.Random(seed), today=business_today())
        self.stdout.write(self.style.SUCCESS(f"Demo users (password for all: {DEMO_PASSWORD}):"))
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {username:<12} {role}")

    def _ensure_users(self) -> dict[str, User]:
        users = {}
        agency, _ = Agency.objects.get_or_create(
            name=AGENCY_NAME, defaults={"commission_percent": Decimal("18.00")}
        )
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(DEMO_PASSWORD)
                user.email = f"{username}@example.com"
                user.first_name = username.capitalize()
                user.save()
                user.groups.add(Group.objects.get(name=role))
                if role == "agency":
                    agency.users.add(user)
            users[username] = user
        return users

    @transaction.atomic
    def _load(
        self, users: dict[str, User], *, count: int, rng: random.Random, today: dt.date
    ) -> None:
        collectors = [users["collector1"], users["collector2"], users["collector3"]]
        agency = Agency.objects.get(name=AGENCY_NAME)
        start = today - dt.timedelta(days=730)
        dealer_rows: list[Dealer] = []
        profiles: list[tuple[str, tuple[int, int], float]] = []
        for i in range(count):
            country = rng.choice(list(COUNTRIES))
            currency, language, regions, towns = COUNTRIES[country]
            town = rng.choice(towns)
            name = _dealer_name(rng, country, town)
            label, late, unpaid = _pick_profile(rng)
            profiles.append((label, late, unpaid))
            dealer_rows.append(
                Dealer(
                    code=f"{country}{i + 1:04d}",
                    name=name,
                    country=country,
                    currency=currency,
                    language=language,
                    address=f"{STREETS.get(country, 'Feldweg')} {rng.randint(1, 120)}",
                    postal_code=str(rng.randint(10000, 99999)),
                    city=town,
                    phone=_phone(rng),
                    payment_terms_days=rng.choice([14, 30, 30, 30, 45, 60]),
                    credit_limit=Decimal(rng.choice([20000, 40000, 60000, 90000, 150000])),
                    region=rng.choice(regions),
                    collector=collectors[i % len(collectors)],
                    agency=agency if label == "stopped" and i % 3 == 0 else None,
                )
            )
        dealer_rows = bulk_create_with_history(dealer_rows, Dealer, default_change_reason="demo")
        dealer_rows = list(Dealer.objects.order_by("code"))

        contacts, orders, lines, payments = [], [], [], []
        order_number = 4_000_000
        for dealer, (label, late, unpaid_share) in zip(dealer_rows, profiles, strict=True):
            for role in (Contact.Role.OWNER, Contact.Role.RESPONSIBLE, Contact.Role.CONTROLLER):
                contacts.append(
                    Contact(
                        dealer=dealer,
                        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        role=role,
                        phone=_phone(rng),
                        email=f"{role}.{dealer.code.lower()}@example.com",
                        window_from=dt.time(15, 0) if role == Contact.Role.OWNER else None,
                        window_to=dt.time(17, 0) if role == Contact.Role.OWNER else None,
                    )
                )
            # Dealers who stopped paying did so somewhere in the last eight months.
            stop_from = today - dt.timedelta(days=rng.randint(40, 240))
            day = start + dt.timedelta(days=rng.randint(0, 20))
            while day <= today:
                order_number += 1
                number = f"{order_number:010d}"
                product, price = rng.choice(PRODUCTS)
                tonnes = Decimal(rng.randint(2, 30))
                amount = price * tonnes
                due = day + dt.timedelta(days=dealer.payment_terms_days)
                disputed = rng.random() < 0.03
                order = Order(
                    number=number,
                    dealer=dealer,
                    ordered_on=day,
                    due_on=due,
                    amount=amount,
                    disputed=disputed,
                    dispute_reason="Feed quality complaint: mould in two bags" if disputed else "",
                    disputed_amount=(amount / 4).quantize(Decimal("0.01")) if disputed else None,
                )
                orders.append(order)
                lines.append((order, product, tonnes, price))
                leaves_unpaid = (label == "stopped" and day >= stop_from) or (
                    day >= today - dt.timedelta(days=180) and rng.random() < unpaid_share
                )
                paid_on = due + dt.timedelta(days=rng.randint(*late))
                if not disputed and not leaves_unpaid and paid_on < today:
                    partial = label == "struggling" and rng.random() < 0.25
                    payments.append(
                        Payment(
                            reference=f"BANK-{number}",
                            dealer=dealer,
                            received_on=max(paid_on, day),
                            amount=(amount / 2).quantize(Decimal("0.01")) if partial else amount,
                            method=Payment.Method.TRANSFER,
                        )
                    )
                day += dt.timedelta(days=rng.randint(10, 35))
        bulk_create_with_history(contacts, Contact, default_change_reason="demo")
        bulk_create_with_history(orders, Order, default_change_reason="demo")
        saved = dict(Order.objects.values_list("number", "pk"))
        order_lines = [
            OrderLine(order_id=saved[o.number], product=p, quantity=q, unit_price=u)
            for o, p, q, u in lines
        ]
        bulk_create_with_history(order_lines, OrderLine, default_change_reason="demo")
        bulk_create_with_history(payments, Payment, default_change_reason="demo")
        reallocate_dealers([d.pk for d in dealer_rows])
        rates = _exchange_rates(rng, start=start, today=today)
        bulk_create_with_history(rates, ExchangeRate, default_change_reason="demo")
        self.stdout.write(
            f"Loaded {len(dealer_rows)} dealers, {len(orders)} orders and "
            f"{len(payments)} payments up to {today:%Y-%m-%d}."
        )


def _exchange_rates(rng: random.Random, *, start: dt.date, today: dt.date) -> list[ExchangeRate]:
    """A rate on the first of every month of the demo's two years, drifting a little, so
    that whole-book figures in euros have a rate for every day (settings.REPORTING_CURRENCY
    is EUR by default)."""
    rates = []
    for currency, rate in DEMO_RATES.items():
        month = start.replace(day=1)
        while month <= today:
            rate = (rate * Decimal(1 + rng.uniform(-0.01, 0.01))).quantize(Decimal("0.00000001"))
            rates.append(ExchangeRate(currency=currency, on=month, rate=rate))
            month = (month + dt.timedelta(days=32)).replace(day=1)
    return rates
