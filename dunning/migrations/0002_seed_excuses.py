"""The excuse library of the practice ("Excuses have answers", docs/PRACTICE.md §10);
managers edit it in the admin."""

from django.db import migrations

EXCUSES = [
    (
        "Next month",
        "Your invoice is already overdue; next month is not a payment date we can accept. "
        "We need a firm date within this week.",
        "A date this week and the exact amount; confirm by bank transfer.",
    ),
    (
        "No work / wages unpaid",
        "We understand money is tight, but the feed has been delivered and used. "
        "Let us agree a part payment now and a plan for the rest.",
        "A part payment today or tomorrow, and an installment plan with dates and amounts.",
    ),
    (
        "I am trying to borrow",
        "Good, then let us fix the date the loan arrives and the amount you will transfer "
        "the same day.",
        "The loan date, the amount, and a call back on that day.",
    ),
    (
        "When I have money",
        "That is not a date. Your account is overdue now; tell me which day this week you "
        "can pay and how much.",
        "A concrete date and amount; offer an installment plan if needed.",
    ),
    (
        "I am on a business trip",
        "A transfer can be made from anywhere, or by someone you authorise. Who can make "
        "the payment while you are away?",
        "A transfer from the road or by a named person, with a date.",
    ),
    (
        "The person with the money is out",
        "Then let us call that person directly. Who is it, and when are they back?",
        "The name and number of the person who pays, and a call at a fixed time.",
    ),
    (
        "The goods have not sold",
        "The terms were agreed for the delivery, not for the resale. Let us look at what has "
        "sold and agree a payment for that part now.",
        "Payment for the sold share now; a date for the rest; check stock on the next visit.",
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
