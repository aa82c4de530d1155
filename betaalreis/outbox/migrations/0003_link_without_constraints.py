"""Drop the database foreign key constraints of the outbox link rows; see CommunicationInvoice."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0006_move_dunning_stage'),
        ('outbox', '0002_drop_covered_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='communicationinvoice',
            name='communication',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='outbox.communication'),
        ),
        migrations.AlterField(
            model_name='communicationinvoice',
            name='invoice',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='communication_items', to='ledger.invoice'),
        ),
    ]
