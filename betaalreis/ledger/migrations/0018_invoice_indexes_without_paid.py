"""Replace the invoice indexes that contain the status with ones that paying an invoice does not move."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0017_creditor_access_event'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(condition=models.Q(('status', 'open'), ('status', 'disputed'), ('status', 'payment_plan'), ('status', 'handed_over'), _connector='OR'), fields=['creditor', 'status', 'due_date'], name='invoice_payable_status_idx'),
        ),
        migrations.AddIndex(
            model_name='invoice',
            index=models.Index(fields=['debtor'], name='invoice_debtor_idx'),
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='ledger_invo_credito_651710_idx',
        ),
        migrations.RemoveIndex(
            model_name='invoice',
            name='ledger_invo_debtor__9475ee_idx',
        ),
    ]
