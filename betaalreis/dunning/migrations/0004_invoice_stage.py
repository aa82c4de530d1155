"""Move each invoice's dunning stage into a narrow table of its own.

Only invoices with a stage get a row. The invoice columns are dropped by
ledger 0006, which runs after this migration.
"""

import django.db.models.deletion
from django.db import migrations, models

import betaalreis.dunning.models

COPY_TO_TABLE = """
INSERT INTO dunning_invoicestage (invoice_id, stage, stage_date)
SELECT id, dunning_stage, dunning_stage_date FROM ledger_invoice WHERE dunning_stage <> ''
"""

# Run backwards after ledger 0006 has added the invoice columns again, empty.
COPY_TO_INVOICES = """
UPDATE ledger_invoice
SET dunning_stage = stage.stage, dunning_stage_date = stage.stage_date
FROM dunning_invoicestage AS stage
WHERE stage.invoice_id = ledger_invoice.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0003_stage_required"),
        ("ledger", "0005_invoice_fillfactor"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvoiceStage",
            fields=[
                (
                    "invoice",
                    betaalreis.dunning.models.RowidOneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="dunning_progress",
                        serialize=False,
                        to="ledger.invoice",
                    ),
                ),
                ("stage", models.CharField(max_length=40, verbose_name="aanmaningsfase")),
                ("stage_date", models.DateField(blank=True, null=True, verbose_name="fase sinds")),
            ],
            options={
                "verbose_name": "aanmaningsfase van een factuur",
                "verbose_name_plural": "aanmaningsfasen van facturen",
            },
        ),
        migrations.RunSQL(COPY_TO_TABLE, COPY_TO_INVOICES),
    ]
