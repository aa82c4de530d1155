"""Make the creditor logo an uploaded file under MEDIA_ROOT/logos, and add the handover agency's name.

Before, the logo was any server path, and the portal served that file to
anyone. Each old path is copied into the logos folder when it is a PNG or
JPEG image of sane size outside the media root. A path inside the media
root (where debtors' dispute attachments are), a missing file or any other
file is cleared with a warning, so a staff user uploads the logo again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import migrations, models

from betaalreis.ledger.logos import logo_upload_path, store_logo_file

logger = logging.getLogger(__name__)


def copy_logos_in(apps: Any, schema_editor: Any) -> None:
    creditor_model = apps.get_model("ledger", "Creditor")
    media_root = Path(settings.MEDIA_ROOT).resolve()
    for creditor in creditor_model.objects.exclude(logo=""):
        old = Path(creditor.logo.name)
        # Letters read a relative path under BETAALREIS_HOME.
        source = (old if old.is_absolute() else Path(settings.BETAALREIS_HOME) / old).resolve()
        if source.is_relative_to(media_root):
            new_name, reason = "", "the file is in the media root, which contains private uploads"
        else:
            try:
                new_name, reason = store_logo_file(source, creditor.slug), ""
            except OSError as error:
                new_name, reason = "", error.strerror or str(error)
            except ValidationError as error:
                new_name, reason = "", " ".join(error.messages)
        if not new_name:
            logger.warning(
                "creditor logo cleared; upload it again in the admin",
                extra={"creditor_slug": creditor.slug, "old_logo": str(old), "reason": reason},
            )
        creditor.logo = new_name
        creditor.save(update_fields=["logo"])


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0022_timeline_task"),
    ]

    operations = [
        migrations.AlterField(
            model_name="creditor",
            name="logo",
            field=models.FileField(
                blank=True,
                help_text="Een PNG- of JPEG-afbeelding van ten hoogste 1 MB en 4000 pixels breed en hoog.",
                max_length=500,
                upload_to=logo_upload_path,
                verbose_name="logo",
            ),
        ),
        migrations.RunPython(copy_logos_in, migrations.RunPython.noop),
        migrations.AddField(
            model_name="creditor",
            name="handover_agency",
            field=models.CharField(
                blank=True,
                help_text=(
                    "Naam van het incassobureau waaraan u onbetaalde facturen overdraagt. De overdrachtsbrief en "
                    '-berichten noemen het; leeg laten geeft "een incassobureau".'
                ),
                max_length=200,
                verbose_name="incassobureau voor overdracht",
            ),
        ),
    ]
