"""On PostgreSQL, a GiST index on each order's open interval, so that "what is open at
the end of day D" (`OpenOn`: `daterange(ordered_on, settled_on, '[)') @> D`) reads the
orders open on D however far back D is, instead of every order settled after D. The
columns the aging report and the KPIs need ride along (INCLUDE), for index-only scans.

Other databases get nothing: there `OpenOn` is the plain comparison, on the btree of
`settled_on`."""

from django.db import migrations

INDEX = "receivables_order_open_interval_gist"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON receivables_order "
        "USING gist (daterange(ordered_on, settled_on, '[)')) "
        "INCLUDE (dealer_id, due_on, amount, paid_from)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("receivables", "0006_order_paid_from"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
