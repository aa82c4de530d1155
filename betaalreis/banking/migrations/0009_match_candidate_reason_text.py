from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("banking", "0007_match_decision_on_payment"),
    ]

    operations = [
        migrations.AlterField(
            model_name="matchcandidate",
            name="reason",
            field=models.TextField(blank=True, verbose_name="reden"),
        ),
    ]
