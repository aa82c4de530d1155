"""Drop the (creditor) index of bank transactions: the unique (creditor, external_id) starts with it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('banking', '0004_transaction_duplicate_of'),
        ('ledger', '0009_drop_unused_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='banktransaction',
            name='creditor',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor', verbose_name='crediteur'),
        ),
    ]
