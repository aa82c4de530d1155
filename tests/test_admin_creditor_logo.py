"""The creditor logo: uploaded in the admin, copied in by the creditor command, served only from MEDIA_ROOT/logos.

A staff user could once type any server path as the logo, and the portal
served that file to anyone, such as another creditor's dispute attachment.
"""

from __future__ import annotations

import html
import importlib
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from PIL import Image

from betaalreis.channels.render.context import CreditorInfo
from betaalreis.ledger.models import Creditor
from betaalreis.portal.tests.factories import make_debtor, make_invoice
from betaalreis.testing import admin_form_data, make_creditor

pytestmark = pytest.mark.django_db

NO_USER_ACCESS = {"user_access-TOTAL_FORMS": "0", "user_access-INITIAL_FORMS": "0"}


def image_bytes(image_format: str, size: tuple[int, int] = (120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (31, 78, 121)).save(buffer, format=image_format)
    return buffer.getvalue()


def post_logo(admin_client, creditor: Creditor, upload: SimpleUploadedFile, language: str = "nl"):
    data = {**admin_form_data(creditor), "logo": upload, **NO_USER_ACCESS}
    url = reverse("admin:ledger_creditor_change", args=[creditor.pk])
    return admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)


def test_admin_stores_logo_under_logos(admin_client, settings):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    png = image_bytes("PNG")

    response = post_logo(admin_client, creditor, SimpleUploadedFile("huisstijl.png", png, content_type="image/png"))

    assert response.status_code == 302
    creditor.refresh_from_db()
    assert creditor.logo.name.startswith("logos/zon-")
    assert creditor.logo.name.endswith(".png")
    assert (Path(settings.MEDIA_ROOT) / creditor.logo.name).read_bytes() == png
    served = admin_client.get(reverse("portal:logo", kwargs={"creditor_id": creditor.pk}))
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "Het logo is geen PNG- of JPEG-afbeelding."),
        ("logo.png", b"<svg></svg>", "Het logo is geen PNG- of JPEG-afbeelding."),
        ("logo.jpg", image_bytes("JPEG", (4001, 10)), "Het logo is 4001 bij 10 pixels"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024), "Het logo is groter dan 1 MB."),
    ],
)
def test_admin_rejects_unusable_logo(admin_client, name, content, message):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")

    response = post_logo(admin_client, creditor, SimpleUploadedFile(name, content))

    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    creditor.refresh_from_db()
    assert not creditor.logo


def test_admin_logo_error_in_english(admin_client):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")

    response = post_logo(admin_client, creditor, SimpleUploadedFile("logo.png", b"GIF89a"), language="en")

    assert "The logo is not a PNG or JPEG image. Choose a PNG or JPEG file." in html.unescape(
        response.content.decode()
    )


def test_logo_outside_logos_folder_not_served(client, settings):
    # Another creditor's dispute attachment, named as a logo by absolute path, relative name or "..".
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    attachment = Path(settings.MEDIA_ROOT) / "disputes" / "1" / "9" / "invoice-9176.jpg"
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(image_bytes("JPEG"))
    url = reverse("portal:logo", kwargs={"creditor_id": creditor.pk})

    for name in (str(attachment), "disputes/1/9/invoice-9176.jpg", "logos/../disputes/1/9/invoice-9176.jpg"):
        Creditor.objects.filter(pk=creditor.pk).update(logo=name)
        assert client.get(url).status_code == 404, name
        creditor.refresh_from_db()
        assert CreditorInfo.from_model(creditor).logo_file is None, name


def test_logo_link_out_of_folder_not_served(client, settings):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    secret = Path(settings.MEDIA_ROOT) / "disputes" / "secret.png"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(image_bytes("PNG"))
    link = Path(settings.MEDIA_ROOT) / "logos" / "zon-link.png"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    Creditor.objects.filter(pk=creditor.pk).update(logo="logos/zon-link.png")

    response = client.get(reverse("portal:logo", kwargs={"creditor_id": creditor.pk}))

    assert response.status_code == 404


def test_non_image_logo_not_served(client, settings):
    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    text = Path(settings.MEDIA_ROOT) / "logos" / "zon-1.png"
    text.parent.mkdir(parents=True)
    text.write_text("not an image")
    Creditor.objects.filter(pk=creditor.pk).update(logo="logos/zon-1.png")

    response = client.get(reverse("portal:logo", kwargs={"creditor_id": creditor.pk}))

    assert response.status_code == 404


def test_creditor_add_copies_logo(settings, tmp_path):
    source = tmp_path / "logo.jpeg"
    source.write_bytes(image_bytes("JPEG"))

    call_command(
        "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "NL20INGB0001234567",
        "--logo", str(source), stdout=io.StringIO(),
    )

    creditor = Creditor.objects.get(slug="zon")
    assert creditor.logo.name.startswith("logos/zon-")
    assert creditor.logo.name.endswith(".jpg")
    stored = Path(settings.MEDIA_ROOT) / creditor.logo.name
    assert stored.read_bytes() == source.read_bytes()
    assert CreditorInfo.from_model(creditor).logo_file == stored.resolve()


def test_creditor_load_copies_logo_once(settings, tmp_path):
    (tmp_path / "logo.png").write_bytes(image_bytes("PNG"))
    path = tmp_path / "crediteuren.toml"
    path.write_text('[[creditor]]\nslug = "zon"\nlegal_name = "Zon B.V."\niban = "NL20INGB0001234567"\nlogo = "logo.png"\n')

    first, second = io.StringIO(), io.StringIO()
    call_command("creditor", "load", str(path), stdout=first)
    name = Creditor.objects.get().logo.name
    call_command("creditor", "load", str(path), stdout=second)

    assert "zon: aangemaakt" in first.getvalue()
    assert "zon: ongewijzigd" in second.getvalue()
    assert Creditor.objects.get().logo.name == name
    assert [file.name for file in (Path(settings.MEDIA_ROOT) / "logos").iterdir()] == [Path(name).name]


def test_creditor_add_rejects_fake_png(tmp_path):
    fake = tmp_path / "logo.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)

    with pytest.raises(CommandError, match="logo .*: geen PNG- of JPEG-bestand"):
        call_command(
            "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "NL20INGB0001234567",
            "--logo", str(fake),
        )

    assert not Creditor.objects.exists()


def test_migration_copies_or_clears_old_paths(settings, tmp_path, caplog):
    migration = importlib.import_module("betaalreis.ledger.migrations.0023_creditor_logo_handover_agency")
    outside = tmp_path / "huisstijl" / "logo.png"
    outside.parent.mkdir()
    outside.write_bytes(image_bytes("PNG"))
    attachment = Path(settings.MEDIA_ROOT) / "disputes" / "1" / "9" / "invoice-9176.jpg"
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(image_bytes("JPEG"))
    copied = make_creditor("copied", iban="NL20INGB0001234567", bic="INGBNL2A")
    stolen = make_creditor("stolen", iban="NL91ABNA0417164300", bic="ABNANL2A")
    missing = make_creditor("missing", iban="NL39RABO0300065264", bic="RABONL2U")
    for creditor, old in ((copied, outside), (stolen, attachment), (missing, tmp_path / "gone.png")):
        Creditor.objects.filter(pk=creditor.pk).update(logo=str(old))

    with caplog.at_level("WARNING"):
        migration.copy_logos_in(apps, None)

    copied.refresh_from_db()
    assert copied.logo.name.startswith("logos/copied-")
    assert (Path(settings.MEDIA_ROOT) / copied.logo.name).read_bytes() == outside.read_bytes()
    for creditor in (stolen, missing):
        creditor.refresh_from_db()
        assert creditor.logo.name == ""
    cleared = sorted(record.creditor_slug for record in caplog.records if record.levelname == "WARNING")
    assert cleared == ["missing", "stolen"]


def test_dispute_attachment_name_unguessable(settings):
    from betaalreis.portal.services import do_open_dispute

    creditor = make_creditor("zon", iban="NL20INGB0001234567", bic="INGBNL2A")
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "F-001", "80.00")
    upload = SimpleUploadedFile("bon.png", image_bytes("PNG"), content_type="image/png")

    dispute = do_open_dispute(debtor, invoice, reason="question", message="Waarom?", attachment=upload)

    prefix = f"disputes/{creditor.pk}/{debtor.pk}/invoice-{invoice.pk}-"
    assert dispute.attachment.name.startswith(prefix)
    token = dispute.attachment.name.removeprefix(prefix).removesuffix(".png")
    assert len(token) == 32
    assert int(token, 16) >= 0
