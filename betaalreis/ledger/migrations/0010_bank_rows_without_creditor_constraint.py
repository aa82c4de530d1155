"""Drop the database constraint on the creditor of payments, allocations and timeline events; see Payment.creditor."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0009_drop_unused_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='allocation',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor'),
        ),
        migrations.AlterField(
            model_name='payment',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='payments', to='ledger.creditor'),
        ),
        migrations.AlterField(
            model_name='timelineevent',
            name='creditor',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to='ledger.creditor'),
        ),
    ]
