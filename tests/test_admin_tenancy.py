"""The back office shows each staff user only the data of the creditors they work for.

Two creditors, Acme and Polder, each have a debtor, invoices, a bank
statement with a matched and an unmatched payment, a dispute with an
attachment, a promise, an online payment, a payment plan and dunning
messages. Anna works for Acme, Piet for Polder, and both have every
permission. Neither may see, filter, choose or change anything of the
other creditor.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from betaalreis.banking.importers import Camt05xImporter
from betaalreis.banking.models import MatchCandidate, ReviewPayment
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.dunning.models import Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import Creditor, CreditorAccess, Debtor, Invoice, Payment, PaymentStatus
from betaalreis.ledger.tenancy import creditor_path
from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin
from betaalreis.payments.models import CheckoutPayment, PaymentPlan, WebhookEvent
from betaalreis.payments.plans import do_request_plan
from betaalreis.portal.models import Dispute, DisputeStatus, PortalSettings
from betaalreis.portal.services import do_make_promise, do_open_dispute
from betaalreis.testing import admin_form_data, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TODAY = dt.date(2026, 12, 1)


@dataclass
class Tenant:
    creditor: Creditor
    debtor: Debtor
    invoice: Invoice
    review_payment: Payment
    candidate: MatchCandidate | None
    dispute: Dispute
    user: User


def make_tenant(tmp_path: Path, slug: str, iban: str, name: str, username: str) -> Tenant:
    """Create a creditor with data in every admin screen, and a staff user with every permission who works for it."""
    creditor = make_creditor(slug, iban=iban, bic="", legal_name=f"{slug.title()} Holding B.V.")
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, name=name, customer_number=f"{slug.upper()}-1")
    invoice = make_invoice(debtor, "121.00", due=dt.date(2026, 10, 1), number=f"{slug.upper()}-F1")
    disputed = make_invoice(debtor, "50.00", due=dt.date(2026, 10, 1), number=f"{slug.upper()}-F2")
    planned = make_invoice(debtor, "300.00", due=dt.date(2026, 11, 20), number=f"{slug.upper()}-F3")
    second_debtor = make_debtor(creditor, name=f"{name} Junior", customer_number=f"{slug.upper()}-2")
    make_invoice(second_debtor, "50.00", due=dt.date(2026, 11, 25), number=f"{slug.upper()}-F4")

    run_cycle(dt.date(2026, 10, 8), creditor=creditor)

    entries = [
        SampleEntry(Decimal("121.00"), name=name, iban="NL02ABNA0123456789", remittance=invoice.number),
        # Names an invoice of each debtor for the same amount, so the payment waits in review with candidates.
        SampleEntry(Decimal("50.00"), name="Onbekend", iban="NL20INGB0001234567",
                    remittance=f"{slug.upper()}-F2 {slug.upper()}-F4"),
    ]
    path = write_camt053(tmp_path / f"{slug}.xml", iban, entries, statement_id=f"STMT-{slug}")
    Camt05xImporter().run(path, None)
    review_payment = Payment.objects.get(creditor=creditor, status=PaymentStatus.REVIEW)

    dispute = do_open_dispute(
        debtor, disputed, reason="question", message=f"Vraag van {name}",
        attachment=SimpleUploadedFile("bon.pdf", PDF, content_type="application/pdf"),
    )
    do_make_promise(second_debtor, TODAY + dt.timedelta(days=7), today=TODAY)
    plan = do_request_plan(debtor, [planned], 3, today=TODAY)
    checkout = CheckoutPayment.objects.create(
        creditor=creditor, debtor=debtor, provider="fake", provider_id=f"tr_{slug}", public_token=f"token-{slug}",
        amount=Decimal("121.00"), description=f"Betaling {slug}", plan=plan,
    )
    WebhookEvent.objects.create(provider="fake", body="{}", outcome="applied", checkout=checkout)
    PortalSettings.objects.create(creditor=creditor, max_plan_terms=4)

    user = make_user(username)
    user.user_permissions.set(Permission.objects.all())
    CreditorAccess.objects.create(user=user, creditor=creditor)
    return Tenant(
        creditor=creditor,
        debtor=debtor,
        invoice=invoice,
        review_payment=review_payment,
        candidate=review_payment.match_candidates.first(),
        dispute=dispute,
        user=user,
    )


def make_user(username: str, **flags: bool) -> User:
    """Create a staff user without a password, which `force_login` does not need and hashing would slow down."""
    return User.objects.create(username=username, email=f"{username}@example.nl", is_staff=True, **flags)


@pytest.fixture
def acme(tmp_path: Path, settings) -> Tenant:
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_tenant(tmp_path, "acme", "NL91ABNA0417164300", "Jansen", "anna")


@pytest.fixture
def polder(tmp_path: Path, acme: Tenant) -> Tenant:
    tenant = make_tenant(tmp_path, "polder", "NL18RABO0123459876", "Pietersen", "piet")
    # A stage name that only Polder's policy has, to look for in Acme's filters.
    Stage.objects.filter(policy__creditor=tenant.creditor, order=1).update(name_nl="Polderherinnering")
    return tenant


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def scoped_admins() -> list[tuple[type, CreditorScopedAdmin]]:
    """Return the creditor-scoped screens that staff users see, leaving out those for superusers only."""
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if isinstance(model_admin, CreditorScopedAdmin) and not model_admin.superuser_only]


def changelist_url(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_admin_scoped():
    unscoped = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, CreditorScopedAdmin) and model._meta.app_label not in ("auth",)
    ]

    assert unscoped == []


def test_every_scoped_model_has_creditor():
    missing = [
        model._meta.label for model, model_admin in scoped_admins()
        if (model_admin.creditor_field or creditor_path(model)) is None
    ]

    assert missing == []


def test_lists_show_own_creditor(acme, polder):
    anna = client_for(acme.user)
    with_rows = []

    for model, model_admin in scoped_admins():
        response = anna.get(changelist_url(model))
        assert response.status_code == 200, model._meta.label
        path = model_admin.creditor_field or creditor_path(model)
        shown = set(response.context["cl"].queryset.values_list(path, flat=True))
        assert shown <= {acme.creditor.pk}, model._meta.label
        if shown:
            with_rows.append(model._meta.label)
        polder_rows = model_admin.get_queryset(rf_request(polder.user)).count()
        assert polder_rows > 0, f"no Polder rows in {model._meta.label}, so the test proves nothing there"

    assert len(with_rows) == len(scoped_admins())


def rf_request(user: User):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_list_pages_hide_other_names(acme, polder):
    anna = client_for(acme.user)

    for url, own in [
        (reverse("admin:ledger_debtor_changelist"), "Jansen"),
        (reverse("admin:ledger_invoice_changelist"), "ACME-F1"),
        (reverse("admin:portal_dispute_changelist"), "ACME-F2"),
        (reverse("admin:banking_reviewpayment_changelist"), "Onbekend"),
        (reverse("admin:ledger_creditor_changelist"), "Acme Holding B.V."),
    ]:
        text = anna.get(url).content.decode()
        assert own in text, url
        assert "Pietersen" not in text, url
        assert "POLDER-" not in text, url
        assert "Polder Holding" not in text, url


def test_superuser_sees_both_creditors(acme, polder):
    boss = make_user("baas", is_superuser=True)

    text = client_for(boss).get(reverse("admin:ledger_debtor_changelist")).content.decode()

    assert "Jansen" in text
    assert "Pietersen" in text


def test_user_without_access_sees_nothing(acme, polder):
    loner = make_user("los")
    loner.user_permissions.set(Permission.objects.all())
    client = client_for(loner)

    for model, _model_admin in scoped_admins():
        response = client.get(changelist_url(model))
        assert response.status_code == 200, model._meta.label
        assert response.context["cl"].result_count == 0, model._meta.label


def other_object_urls(tenant: Tenant) -> list[str]:
    """Return the change, history and delete pages of the tenant's records in several screens."""
    records = [
        ("ledger", "debtor", tenant.debtor.pk),
        ("ledger", "invoice", tenant.invoice.pk),
        ("ledger", "creditor", tenant.creditor.pk),
        ("ledger", "payment", tenant.review_payment.pk),
        ("banking", "reviewpayment", tenant.review_payment.pk),
        ("portal", "dispute", tenant.dispute.pk),
    ]
    return [
        reverse(f"admin:{app}_{model}_{page}", args=[pk])
        for app, model, pk in records
        for page in ("change", "history", "delete")
    ]


def test_other_creditor_pages_redirect(acme, polder):
    anna = client_for(acme.user)

    for url in other_object_urls(polder):
        response = anna.get(url)
        if url.endswith("/delete/") and "payment" in url:
            # Nobody may delete a payment, so Django rejects the page before it looks the payment up.
            assert response.status_code == 403, url
            continue
        assert response.status_code == 302, url
        assert response["Location"] == reverse("admin:index"), url
        followed = anna.get(url, follow=True).content.decode()
        assert "Pietersen" not in followed, url
        assert "POLDER-" not in followed, url


def test_other_creditor_change_rejected(acme, polder):
    anna = client_for(acme.user)
    data = admin_form_data(polder.debtor)
    data["name"] = "Overgenomen"

    response = anna.post(reverse("admin:ledger_debtor_change", args=[polder.debtor.pk]), data)
    delete = anna.post(reverse("admin:ledger_debtor_delete", args=[polder.debtor.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert delete.status_code == 302
    polder.debtor.refresh_from_db()
    assert polder.debtor.name == "Pietersen"


def test_creditor_filter_lists_own(acme, polder):
    third = make_creditor("derde", legal_name="Derde B.V.")
    make_invoice(make_debtor(third, name="Derksen"), "10.00", due=dt.date(2026, 11, 1))
    CreditorAccess.objects.create(user=acme.user, creditor=third)
    anna = client_for(acme.user)

    response = anna.get(reverse("admin:ledger_invoice_changelist"))

    filters = {str(spec.title): spec for spec in response.context["cl"].filter_specs}
    choices = [label for _pk, label in filters["crediteur"].lookup_choices]
    assert choices == ["Acme Holding B.V.", "Derde B.V."]
    text = response.content.decode()
    assert "Polder Holding B.V." not in text
    assert "Polderherinnering" not in text


def test_filter_hidden_for_one_creditor(acme, polder):
    anna = client_for(acme.user)

    response = anna.get(reverse("admin:ledger_invoice_changelist"))

    titles = [str(spec.title) for spec in response.context["cl"].filter_specs]
    assert "crediteur" not in titles
    assert "aanmaningsfase" in titles
    assert "Polderherinnering" not in response.content.decode()


def test_filter_by_other_creditor_ignored(acme, polder):
    anna = client_for(acme.user)

    response = anna.get(reverse("admin:ledger_invoice_changelist"), {"creditor__id__exact": polder.creditor.pk})

    creditors = {invoice.creditor_id for invoice in response.context["cl"].result_list}
    assert creditors == {acme.creditor.pk}


def test_autocomplete_lists_own(acme, polder):
    anna = client_for(acme.user)
    url = reverse("admin:autocomplete")

    response = anna.get(url, {"app_label": "ledger", "model_name": "invoice", "field_name": "debtor", "term": "sen"})

    names = [result["text"] for result in response.json()["results"]]
    assert names
    assert all("Pietersen" not in name for name in names)
    assert any("Jansen" in name for name in names)


def test_form_choices_list_own(acme, polder):
    anna = client_for(acme.user)

    debtor_form = anna.get(reverse("admin:ledger_debtor_add")).context["adminform"].form
    policy_form = anna.get(reverse("admin:dunning_policy_add")).context["adminform"].form

    assert list(debtor_form.fields["creditor"].queryset) == [acme.creditor]
    assert list(policy_form.fields["creditor"].queryset) == [acme.creditor]


def test_raw_id_other_debtor_rejected(acme, polder):
    anna = client_for(acme.user)
    url = reverse("admin:ledger_invoice_change", args=[acme.invoice.pk])
    data = admin_form_data(acme.invoice)
    data["debtor"] = polder.debtor.pk

    page = anna.get(url).content.decode()
    response = anna.post(url, data)

    assert "Jansen" in page
    assert response.status_code == 200
    assert "debtor" in response.context["adminform"].form.errors
    assert "Pietersen" not in response.content.decode()
    acme.invoice.refresh_from_db()
    assert acme.invoice.debtor_id == acme.debtor.pk


def test_review_views_reject_other_creditor(acme, polder):
    anna = client_for(acme.user)
    payment = polder.review_payment
    assert polder.candidate is not None

    confirm = anna.post(reverse("admin:banking_reviewpayment_confirm", args=[polder.candidate.pk]))
    assign = anna.post(
        reverse("admin:banking_reviewpayment_assign", args=[payment.pk]),
        {"customer_number": polder.debtor.customer_number, "invoice_numbers": ""},
    )
    ignore = anna.post(reverse("admin:banking_reviewpayment_ignore", args=[payment.pk]), {"reason": "weg"})

    assert confirm.status_code == 404
    assert assign.status_code == 404
    assert ignore.status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW


def test_review_confirm_own_candidate(acme, polder):
    anna = client_for(acme.user)
    assert acme.candidate is not None

    response = anna.post(reverse("admin:banking_reviewpayment_confirm", args=[acme.candidate.pk]))

    assert response.status_code == 302
    acme.review_payment.refresh_from_db()
    assert acme.review_payment.status == PaymentStatus.MATCHED


def test_action_skips_other_creditor(acme, polder):
    anna = client_for(acme.user)

    anna.post(
        reverse("admin:portal_dispute_changelist"),
        {"action": "resolve", "_selected_action": [polder.dispute.pk, acme.dispute.pk]},
    )

    polder.dispute.refresh_from_db()
    acme.dispute.refresh_from_db()
    assert polder.dispute.status == DisputeStatus.OPEN
    assert acme.dispute.status == DisputeStatus.RESOLVED


def test_access_inline_superuser_only(acme, polder):
    boss = make_user("baas", is_superuser=True)
    url = reverse("admin:auth_user_change", args=[acme.user.pk])

    boss_page = client_for(boss).get(url).content.decode()
    anna_page = client_for(acme.user).get(url).content.decode()

    assert "creditor_access-TOTAL_FORMS" in boss_page
    assert "creditor_access-TOTAL_FORMS" not in anna_page


def test_superuser_grants_access_in_admin(acme, polder):
    boss = make_user("baas", is_superuser=True)
    url = reverse("admin:ledger_creditor_change", args=[polder.creditor.pk])
    data = admin_form_data(polder.creditor)
    data.update({
        "user_access-TOTAL_FORMS": "2",
        "user_access-INITIAL_FORMS": "1",
        "user_access-0-id": CreditorAccess.objects.get(creditor=polder.creditor).pk,
        "user_access-0-creditor": polder.creditor.pk,
        "user_access-0-user": polder.user.pk,
        "user_access-1-creditor": polder.creditor.pk,
        "user_access-1-user": acme.user.pk,
    })

    response = client_for(boss).post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    access = CreditorAccess.objects.get(creditor=polder.creditor, user=acme.user)
    assert access.granted_by == "admin:baas"
    text = client_for(acme.user).get(reverse("admin:ledger_debtor_changelist")).content.decode()
    assert "Pietersen" in text


def test_grant_command_gives_access(acme, polder):
    call_command("creditor", "grant", "polder", "anna")

    text = client_for(acme.user).get(reverse("admin:ledger_debtor_changelist")).content.decode()
    assert "Pietersen" in text
    assert CreditorAccess.objects.get(creditor=polder.creditor, user=acme.user).granted_by.startswith("command:")


def test_grant_twice_keeps_one_row(acme, polder):
    call_command("creditor", "grant", "polder", "anna")
    call_command("creditor", "grant", "polder", "anna")

    assert CreditorAccess.objects.filter(creditor=polder.creditor, user=acme.user).count() == 1


def test_revoke_command_removes_access(acme, polder):
    call_command("creditor", "revoke", "acme", "anna")

    response = client_for(acme.user).get(reverse("admin:ledger_debtor_changelist"))
    assert response.context["cl"].result_count == 0
    assert not CreditorAccess.objects.filter(user=acme.user).exists()


def test_grant_unknown_user_fails(acme):
    with pytest.raises(CommandError, match="'nobody' niet gevonden"):
        call_command("creditor", "grant", "acme", "nobody")


def test_grant_unknown_creditor_fails(acme):
    with pytest.raises(CommandError, match="'nergens' niet gevonden"):
        call_command("creditor", "grant", "nergens", "anna")


def attachment_url(tenant: Tenant) -> str:
    return reverse("admin:portal_dispute_attachment", args=[tenant.dispute.pk])


def test_attachment_downloads_for_own(acme, polder):
    anna = client_for(acme.user)

    page = anna.get(reverse("admin:portal_dispute_change", args=[acme.dispute.pk])).content.decode()
    response = anna.get(attachment_url(acme))

    assert f'href="{attachment_url(acme)}"' in page
    assert "/media/" not in page
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    # The stored name carries a random part, so that no attachment's path can be guessed from ids.
    assert re.search(f'filename="invoice-{acme.dispute.invoice_id}-[0-9a-f]{{32}}.pdf"', response["Content-Disposition"])
    assert response["X-Content-Type-Options"] == "nosniff"


def test_attachment_other_creditor_404(acme, polder):
    response = client_for(acme.user).get(attachment_url(polder))

    assert response.status_code == 404
    assert PDF not in response.content


def test_attachment_needs_login(acme, polder):
    response = Client().get(attachment_url(acme))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_attachment_needs_view_permission(acme, polder):
    clerk = make_user("klerk")
    clerk.user_permissions.set(Permission.objects.exclude(codename__in=["view_dispute", "change_dispute"]))
    CreditorAccess.objects.create(user=clerk, creditor=acme.creditor)

    response = client_for(clerk).get(attachment_url(acme))

    assert response.status_code == 403


def test_attachment_other_content_not_inline(acme, polder):
    stored = acme.dispute.attachment
    Path(stored.path).write_bytes(b"<html><script>alert(1)</script></html>")

    response = client_for(acme.user).get(attachment_url(acme))

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_attachment_missing_file_404(acme, polder):
    Path(acme.dispute.attachment.path).unlink()

    response = client_for(acme.user).get(attachment_url(acme))

    assert response.status_code == 404


def test_media_not_served(acme, polder):
    boss = make_user("baas", is_superuser=True)

    response = client_for(boss).get(f"/media/{acme.dispute.attachment.name}")

    assert response.status_code == 404


def test_staff_cannot_open_user_screens(acme):
    client = client_for(acme.user)

    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_user_change", args=[acme.user.pk])).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_staff_cannot_make_self_superuser(acme):
    client = client_for(acme.user)
    url = reverse("admin:auth_user_change", args=[acme.user.pk])

    data = {**admin_form_data(acme.user), "is_superuser": "on"}

    response = client.post(url, data)

    assert response.status_code == 403
    acme.user.refresh_from_db()
    assert not acme.user.is_superuser


def test_staff_cannot_add_creditor(acme):
    client = client_for(acme.user)

    response = client.get(reverse("admin:ledger_creditor_add"))

    assert response.status_code == 403


def test_superuser_opens_user_screens(acme):
    client = client_for(make_user("root", is_superuser=True))

    assert client.get(reverse("admin:auth_user_change", args=[acme.user.pk])).status_code == 200
    assert client.get(reverse("admin:ledger_creditor_add")).status_code == 200


@pytest.mark.parametrize(
    ("model", "action"),
    [
        (Debtor, "record_credit_refund"),
        (Dispute, "resolve"),
        (PaymentPlan, "approve"),
        (PaymentPlan, "reject"),
        (ReviewPayment, "confirm_best_candidate"),
    ],
)
def test_view_only_user_gets_no_change_action(acme, model, action):
    viewer = make_user("kijker")
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    CreditorAccess.objects.create(user=viewer, creditor=acme.creditor)
    client = client_for(viewer)

    response = client.get(changelist_url(model))

    assert response.status_code == 200
    assert f'value="{action}"' not in response.content.decode()
    assert f'value="{action}"' in client_for(acme.user).get(changelist_url(model)).content.decode()


def test_view_only_user_cannot_resolve_dispute(acme):
    viewer = make_user("kijker")
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    CreditorAccess.objects.create(user=viewer, creditor=acme.creditor)

    client_for(viewer).post(
        changelist_url(Dispute), {"action": "resolve", "_selected_action": [acme.dispute.pk]}
    )

    acme.dispute.refresh_from_db()
    assert acme.dispute.status == DisputeStatus.OPEN
