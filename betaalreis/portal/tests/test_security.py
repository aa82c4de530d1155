"""Sign-in security: other debtors' ids, expired links, one-time codes, brute force."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.urls import reverse

from betaalreis.payments.models import CheckoutPayment
from betaalreis.portal.links import make_portal_token, short_portal_url
from betaalreis.portal.models import Promise, SignInCode, VerifiedContact
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_debtors():
    acme = make_creditor("acme")
    mine = make_debtor(acme, "K001")
    other = make_debtor(acme, "K002", name="P. Jansen", email="p.jansen@example.nl")
    return mine, other


def sign_in(client, debtor) -> None:
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))


def expired_token(debtor, settings) -> str:
    """A genuine link signed long enough ago to be past the maximum age."""
    settings.BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS = 0
    return make_portal_token(debtor)


def latest_code(captured) -> str:
    return re.search(r"\b(\d{6})\b", captured[-1].text).group(1)


def test_other_debtors_ids_answer_404(client, two_debtors):
    mine, other = two_debtors
    theirs = make_invoice(other, "F-900", "99.00")
    sign_in(client, mine)

    urls = [
        reverse("portal:invoice_pdf", kwargs={"invoice_id": theirs.pk}),
        reverse("portal:dispute", kwargs={"invoice_id": theirs.pk}),
        reverse("portal:statement_pdf", kwargs={"debtor_id": other.pk}),
        reverse("portal:promise", kwargs={"debtor_id": other.pk}),
        reverse("portal:plan", kwargs={"debtor_id": other.pk}),
        reverse("portal:preferences", kwargs={"debtor_id": other.pk}),
        reverse("portal:invoice_pdf", kwargs={"invoice_id": 987654}),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("portal:promise", kwargs={"debtor_id": other.pk}), {"promised_date": "2030-01-01"}).status_code == 404
    assert not Promise.objects.exists()


def test_paying_other_debtors_invoice_answers_404(client, two_debtors):
    mine, other = two_debtors
    make_invoice(mine, "F-001", "10.00")
    theirs = make_invoice(other, "F-900", "99.00")
    sign_in(client, mine)

    as_mine = client.post(reverse("portal:pay"), {"debtor": mine.pk, "invoices": [theirs.pk]})
    as_theirs = client.post(reverse("portal:pay"), {"debtor": other.pk, "invoices": [theirs.pk]})

    assert as_mine.status_code == 404
    assert as_theirs.status_code == 404
    assert not CheckoutPayment.objects.exists()


def test_out_of_range_ids_answer_404(client, two_debtors):
    mine, _other = two_debtors
    make_invoice(mine, "F-901", "10.00")
    sign_in(client, mine)
    too_large = "9" * 23

    for posted in ({"debtor": mine.pk, "invoices": [too_large]}, {"debtor": too_large, "invoices": ["1"]}):
        assert client.post(reverse("portal:pay"), posted).status_code == 404, posted
    assert client.post(reverse("portal:pay"), {"debtor": mine.pk, "invoices": ["0"]}).status_code == 404
    assert client.post(reverse("portal:pay"), {"debtor": mine.pk, "invoices": ["-5"]}).status_code == 404
    assert not CheckoutPayment.objects.exists()


def test_overview_shows_only_own_invoices(client, two_debtors):
    mine, other = two_debtors
    make_invoice(mine, "F-001", "10.00")
    make_invoice(other, "F-900", "99.00")
    sign_in(client, mine)

    html = client.get(reverse("portal:overview")).content.decode()

    assert "F-001" in html
    assert "F-900" not in html


def test_pages_need_sign_in(client, two_debtors):
    mine, _other = two_debtors
    invoice = make_invoice(mine, "F-001", "10.00")

    assert client.get(reverse("portal:overview")).status_code == 403
    assert client.get(reverse("portal:invoice_pdf", kwargs={"invoice_id": invoice.pk})).status_code == 403


def test_tampered_link_answers_404(client, two_debtors):
    mine, other = two_debtors
    token = make_portal_token(mine)
    forged = signing.dumps({"d": other.pk}, salt="another-purpose", compress=True)

    assert client.get(reverse("portal:account", kwargs={"token": token[:-2] + "xx"})).status_code == 404
    assert client.get(reverse("portal:account", kwargs={"token": forged})).status_code == 404
    assert client.get(reverse("portal:overview")).status_code == 403


def test_expired_link_offers_code(client, settings, two_debtors, captured_messages):
    mine, _other = two_debtors
    make_invoice(mine, "F-001", "10.00")
    token = expired_token(mine, settings)

    response = client.get(reverse("portal:account", kwargs={"token": token}))

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:code_request")
    assert client.get(reverse("portal:overview")).status_code == 403
    page = client.get(reverse("portal:code_request")).content.decode()
    assert "j***@example.nl" in page
    assert "j.devries@example.nl" not in page

    client.post(reverse("portal:code_request"), {"kind": "email"})
    assert captured_messages[-1].recipient == "j.devries@example.nl"
    signed_in = client.post(reverse("portal:code_verify"), {"code": latest_code(captured_messages)})

    assert signed_in.status_code == 302
    assert "F-001" in client.get(reverse("portal:overview")).content.decode()
    assert VerifiedContact.objects.filter(debtor=mine, kind="email", value="j.devries@example.nl").exists()


def test_code_works_once(client, settings, two_debtors, captured_messages):
    mine, _other = two_debtors
    client.get(reverse("portal:account", kwargs={"token": expired_token(mine, settings)}))
    client.post(reverse("portal:code_request"), {"kind": "phone"})
    code = latest_code(captured_messages)
    assert captured_messages[-1].channel == "sms"
    client.post(reverse("portal:code_verify"), {"code": code})

    other_browser = client_class_copy(client)
    other_browser.get(reverse("portal:account", kwargs={"token": expired_token(mine, settings)}))
    reused = other_browser.post(reverse("portal:code_verify"), {"code": code})

    assert reused.status_code == 200
    assert "geen code klaar" in reused.content.decode()
    assert other_browser.get(reverse("portal:overview")).status_code == 403


def test_code_locks_after_wrong_guesses(client, settings, two_debtors, captured_messages):
    mine, _other = two_debtors
    client.get(reverse("portal:account", kwargs={"token": expired_token(mine, settings)}))
    client.post(reverse("portal:code_request"), {"kind": "email"})
    code = latest_code(captured_messages)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(settings.BETAALREIS_PORTAL_CODE_MAX_ATTEMPTS):
        client.post(reverse("portal:code_verify"), {"code": wrong})
    right = client.post(reverse("portal:code_verify"), {"code": code})

    assert "Te vaak een verkeerde code" in right.content.decode()
    assert client.get(reverse("portal:overview")).status_code == 403
    assert SignInCode.objects.get().failed_attempts == settings.BETAALREIS_PORTAL_CODE_MAX_ATTEMPTS


def test_codes_per_hour_limited(client, settings, two_debtors, captured_messages):
    mine, _other = two_debtors
    client.get(reverse("portal:account", kwargs={"token": expired_token(mine, settings)}))

    for _ in range(settings.BETAALREIS_PORTAL_CODES_PER_HOUR):
        client.post(reverse("portal:code_request"), {"kind": "email"})
    blocked = client.post(reverse("portal:code_request"), {"kind": "email"})

    assert blocked.status_code == 429
    assert len(captured_messages) == settings.BETAALREIS_PORTAL_CODES_PER_HOUR


def test_new_code_voids_the_previous(client, settings, two_debtors, captured_messages):
    mine, _other = two_debtors
    client.get(reverse("portal:account", kwargs={"token": expired_token(mine, settings)}))
    client.post(reverse("portal:code_request"), {"kind": "email"})
    first = latest_code(captured_messages)
    client.post(reverse("portal:code_request"), {"kind": "email"})
    second = latest_code(captured_messages)
    if first == second:
        pytest.skip("two random codes happened to be equal")

    response = client.post(reverse("portal:code_verify"), {"code": first})

    assert client.get(reverse("portal:overview")).status_code == 403
    assert response.status_code == 200


def test_wrong_short_codes_block_address(client, settings, two_debtors):
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 5

    for attempt in range(5):
        assert client.get(reverse("portal:short", kwargs={"code": f"GUESS{attempt}"})).status_code == 404
    blocked = client.get(reverse("portal:short", kwargs={"code": "GUESS9"}))

    assert blocked.status_code == 429
    assert client.get(reverse("portal:overview")).status_code == 403


def test_blocked_address_keeps_signed_links(client, settings, two_debtors):
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 5
    mine, _other = two_debtors
    for attempt in range(6):
        client.get(reverse("portal:short", kwargs={"code": f"GUESS{attempt}"}))

    signed = client.get(reverse("portal:account", kwargs={"token": make_portal_token(mine)}))

    assert signed.status_code == 302
    assert client.session["portal_debtor_ids"] == [mine.pk]


def _page_without_echo(response, path: str) -> str:
    """Return the page with the requested path and the per-response CSRF mask taken out, the only parts that may differ."""
    page = response.content.decode().replace(path, "PATH")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)


def _headers_without_length(response) -> list[tuple[str, str]]:
    return sorted((name, value) for name, value in response.headers.items() if name != "Content-Length")


def test_blocked_short_codes_look_alike(client, settings, two_debtors, django_assert_num_queries):
    """Once throttled, a valid short code gets the same response as a wrong one, without a database lookup."""
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 5
    _mine, other = two_debtors
    for attempt in range(5):
        client.get(reverse("portal:short", kwargs={"code": f"GUESS{attempt}"}))
    valid_path = short_portal_url(other).removeprefix(settings.BETAALREIS_BASE_URL)
    wrong_path = reverse("portal:short", kwargs={"code": "GUESS9"})
    browser = client_class_copy(client)

    answers = []
    for path in (valid_path, wrong_path, valid_path):
        with django_assert_num_queries(0):
            answers.append(browser.get(path))

    valid, wrong, valid_again = answers
    assert valid.status_code == 429
    assert wrong.status_code == 429
    assert valid_again.status_code == 429
    assert _page_without_echo(valid, valid_path) == _page_without_echo(wrong, wrong_path)
    assert _page_without_echo(valid, valid_path) == _page_without_echo(valid_again, valid_path)
    # The lengths differ only by the echoed paths, which the pages compare without.
    assert _headers_without_length(valid) == _headers_without_length(wrong)
    assert "Te veel pogingen" in valid.content.decode()
    assert "portal_debtor_ids" not in browser.session


def test_short_code_from_other_address(client, settings, two_debtors):
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 5
    _mine, other = two_debtors
    for attempt in range(5):
        client.get(reverse("portal:short", kwargs={"code": f"GUESS{attempt}"}), REMOTE_ADDR="198.51.100.9")
    valid_path = short_portal_url(other).removeprefix(settings.BETAALREIS_BASE_URL)

    blocked = client.get(valid_path, REMOTE_ADDR="198.51.100.9")
    elsewhere = client.get(valid_path, REMOTE_ADDR="203.0.113.7")

    assert blocked.status_code == 429
    assert elsewhere.status_code == 302
    assert client.session["portal_debtor_ids"] == [other.pk]


def test_forged_signed_links_do_not_block(client, settings, two_debtors):
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 3
    for attempt in range(5):
        assert client.get(reverse("portal:account", kwargs={"token": f"guess{attempt}:abc"})).status_code == 404

    assert client.get(reverse("portal:short", kwargs={"code": "GUESS1"})).status_code == 404


def test_throttling_logged_once_with_address(client, settings, two_debtors, caplog):
    settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS = 3

    with caplog.at_level("WARNING", logger="betaalreis.portal.views"):
        for attempt in range(6):
            client.get(reverse("portal:short", kwargs={"code": f"GUESS{attempt}"}), REMOTE_ADDR="198.51.100.9")

    throttled = [record for record in caplog.records if record.getMessage() == "portal sign-in throttled for client address"]
    assert len(throttled) == 1
    assert throttled[0].client_address == "198.51.100.9"
    assert throttled[0].failures == 3


def test_verified_contact_joins_creditors(client, settings, captured_messages):
    shop = make_creditor("shop")
    energy = make_creditor("energy")
    at_shop = make_debtor(shop, "S1", email="same@example.nl")
    at_energy = make_debtor(energy, "E1", email="same@example.nl")
    stranger = make_debtor(energy, "E2", email="same@example.nl", name="Namesake")
    make_invoice(at_shop, "SHOP-1", "10.00")
    make_invoice(at_energy, "ENERGY-1", "20.00")
    make_invoice(stranger, "ENERGY-2", "30.00")
    for debtor in (at_shop, at_energy):
        browser = client_class_copy(client)
        browser.get(reverse("portal:account", kwargs={"token": expired_token(debtor, settings)}))
        browser.post(reverse("portal:code_request"), {"kind": "email"})
        browser.post(reverse("portal:code_verify"), {"code": latest_code(captured_messages)})

    settings.BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS = 60
    sign_in(client, at_shop)
    html = client.get(reverse("portal:overview")).content.decode()

    assert "SHOP-1" in html
    assert "ENERGY-1" in html
    assert "ENERGY-2" not in html


def client_class_copy(client):
    """A fresh browser: same client class, no cookies."""
    return type(client)()
