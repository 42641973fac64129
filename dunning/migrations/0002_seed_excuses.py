"""The excuse library of the practice ("Excuses have answers", docs/PRACTICE.md §10);
managers edit it in the admin."""

from django.db import migrations
from django.utils.translation import gettext_noop

# Stored in English; marked so that the catalog carries them (`Excuse.shown_text`).

EXCUSES = [
    (
        gettext_noop("Next month"),
        gettext_noop(
            "Your invoice is already overdue; next month is not a payment date we can accept. "
            "We need a firm date within this week."
        ),
        gettext_noop("A date this week and the exact amount; confirm by bank transfer."),
    ),
    (
        gettext_noop("No work / wages unpaid"),
        gettext_noop(
            "We understand money is tight, but the feed has been delivered and used. "
            "Let us agree a part payment now and a plan for the rest."
        ),
        gettext_noop(
            "A part payment today or tomorrow, and an installment plan with dates and amounts."
        ),
    ),
    (
        gettext_noop("I am trying to borrow"),
        gettext_noop(
            "Good, then let us fix the date the loan arrives and the amount you will transfer "
            "the same day."
        ),
        gettext_noop("The loan date, the amount, and a call back on that day."),
    ),
    (
        gettext_noop("When I have money"),
        gettext_noop(
            "That is not a date. Your account is overdue now; tell me which day this week you "
            "can pay and how much."
        ),
        gettext_noop("A concrete date and amount; offer an installment plan if needed."),
    ),
    (
        gettext_noop("I am on a business trip"),
        gettext_noop(
            "A transfer can be made from anywhere, or by someone you authorise. Who can make "
            "the payment while you are away?"
        ),
        gettext_noop("A transfer from the road or by a named person, with a date."),
    ),
    (
        gettext_noop("The person with the money is out"),
        gettext_noop("Then let us call that person directly. Who is it, and when are they back?"),
        gettext_noop("The name and number of the person who pays, and a call at a fixed time."),
    ),
    (
        gettext_noop("The goods have not sold"),
        gettext_noop(
            "The terms were agreed for the delivery, not for the resale. Let us look at what has "
            "sold and agree a payment for that part now."
        ),
        gettext_noop(
            "Payment for the sold share now; a date for the rest; check stock on the next visit."
        ),
    ),
]


def seed(apps, schema_editor):
    Excuse = apps.get_model("dunning", "Excuse")
    for position, (text, counter, ask) in enumerate(EXCUSES):
        Excuse.objects.get_or_create(
            text=text, defaults={"counter_script": counter, "ask": ask, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
