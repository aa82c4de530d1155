"""Add ShortLink.lookup_key and fill it for the codes that exist.

Codes made before this migration are mixed case and may contain I, l and
O. Their key is the normalised form, so such a code typed in another case
or with a look-alike character still finds its link.
"""

from django.db import migrations, models


# A copy of betaalreis.portal.links.short_code_key as of this migration, so
# later changes to that function do not change what this migration does.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None})


def fill_lookup_keys(apps, schema_editor):
    ShortLink = apps.get_model("portal", "ShortLink")
    links = list(ShortLink.objects.only("pk", "code"))
    for link in links:
        link.lookup_key = link.code.strip().upper().translate(_LOOK_ALIKES)
    ShortLink.objects.bulk_update(links, ["lookup_key"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0003_dutch_field_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="shortlink",
            name="lookup_key",
            field=models.CharField(db_index=True, default="", editable=False, max_length=16, verbose_name="zoeksleutel"),
            preserve_default=False,
        ),
        migrations.RunPython(fill_lookup_keys, migrations.RunPython.noop),
    ]
