"""Drop the database foreign key constraints of the outbox rows; see Communication."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0017_creditor_access_event'),
        ('outbox', '0007_requested_total_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='communication',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor', verbose_name='crediteur'),
        ),
        migrations.AlterField(
            model_name='communication',
            name='debtor',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='communications', to='ledger.debtor', verbose_name='debiteur'),
        ),
    ]
