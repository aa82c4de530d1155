from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dunning", "0002_stage_states_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="stage",
            name="required",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Never skipped: an invoice that has not had this stage gets it before "
                    "any later stage, even after a gap in the runs."
                ),
            ),
        ),
    ]
