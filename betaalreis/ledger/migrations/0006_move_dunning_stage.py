"""Drop the invoice's dunning stage columns, now kept in dunning.InvoiceStage.

dunning 0004 copies them over first. Backwards, the columns come back empty
and dunning 0004 fills them again.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_invoice_fillfactor"),
        ("dunning", "0004_invoice_stage"),
    ]

    operations = [
        migrations.RemoveField(model_name="invoice", name="dunning_stage"),
        migrations.RemoveField(model_name="invoice", name="dunning_stage_date"),
    ]
