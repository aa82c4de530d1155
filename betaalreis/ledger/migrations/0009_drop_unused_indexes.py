"""Drop two invoice and payment indexes that no query needs.

- (creditor, payment_reference) on invoices: bank matching looks invoices
  up by the normalised `reference_key` since 0004, and no other query
  filters on the raw reference.
- (creditor) on payments: the unique (creditor, source, external_id) and
  the (creditor, status) index start with the same column.

On PostgreSQL no update of an invoice's open amount or status is a
heap-only update, so every allocation adds an entry to each index of the
invoice table, and every stored and matched payment does the same on the
payment table. Each index less saves that work.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0008_allocation_part'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='invoice',
            name='ledger_invo_credito_3f16d2_idx',
        ),
        migrations.AlterField(
            model_name='payment',
            name='creditor',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='payments', to='ledger.creditor'),
        ),
    ]
