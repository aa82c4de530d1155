"""Mark the messages before a dunning restart or a raise by communication id, not by link row id.

The outbox link rows lose their surrogate id in outbox 0006, which runs
after this migration. A link row is written with its communication, so
both ids grow in the same order, and for each invoice the link rows up to
the old mark are exactly those whose communication id is at most the
highest communication id among them. A mark whose link rows were all
deleted since (dispatch takes stale invoices out of a message) becomes 0,
which is correct because no row of the invoice is left before it.

Going back, the mark becomes the highest link row id of the invoice whose
communication id is at most the mark. Outbox 0006 numbers the link rows in
the order of (communication, invoice) before this step runs backwards.
"""

from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

MARKED_MODELS = ("DunningRestart", "RaiseAfterLetter")


def _highest(link_rows, field: str):
    """Return a subquery of the highest `field` of the marked invoice's rows in `link_rows`, or 0."""
    rows = (
        link_rows.filter(invoice_id=OuterRef("invoice_id"))
        .order_by()
        .values("invoice_id")
        .annotate(highest=Max(field))
        .values("highest")
    )
    return Coalesce(Subquery(rows, output_field=models.BigIntegerField()), Value(0))


def _convert_marks(apps, *, mark: str, compared: str, new_mark: str, highest: str) -> None:
    """Set `new_mark` to the highest `highest` of the invoice's link rows whose `compared` is at most `mark`."""
    links = apps.get_model("outbox", "CommunicationInvoice").objects
    for name in MARKED_MODELS:
        model = apps.get_model("dunning", name)
        before_mark = links.filter(**{f"{compared}__lte": OuterRef(mark)})
        model.objects.update(**{new_mark: _highest(before_mark, highest)})


def marks_to_communications(apps, schema_editor):
    _convert_marks(
        apps, mark="last_message_item_id", compared="id", new_mark="last_communication_id", highest="communication_id"
    )


def marks_to_link_rows(apps, schema_editor):
    _convert_marks(
        apps, mark="last_communication_id", compared="communication_id", new_mark="last_message_item_id", highest="id"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("dunning", "0010_principal_raise"),
        ("outbox", "0005_idempotency_key_without_like_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="dunningrestart",
            name="last_communication_id",
            field=models.BigIntegerField(default=0, verbose_name="laatste bericht vóór herstart"),
        ),
        migrations.AddField(
            model_name="raiseafterletter",
            name="last_communication_id",
            field=models.BigIntegerField(default=0, verbose_name="laatste bericht vóór verhoging"),
        ),
        migrations.RunPython(marks_to_communications, marks_to_link_rows),
        migrations.RemoveField(model_name="dunningrestart", name="last_message_item_id"),
        migrations.RemoveField(model_name="raiseafterletter", name="last_message_item_id"),
    ]
