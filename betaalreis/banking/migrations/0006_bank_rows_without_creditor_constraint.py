"""Drop the database constraint on the creditor of bank transactions, payment matches and candidates; see ledger.models.Payment.creditor."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('banking', '0005_drop_covered_creditor_index'),
        ('ledger', '0010_bank_rows_without_creditor_constraint'),
    ]

    operations = [
        migrations.AlterField(
            model_name='banktransaction',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor', verbose_name='crediteur'),
        ),
        migrations.AlterField(
            model_name='matchcandidate',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor', verbose_name='crediteur'),
        ),
        migrations.AlterField(
            model_name='paymentmatch',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor', verbose_name='crediteur'),
        ),
    ]
