"""Giving and withdrawing the agreement to electronic communication in the portal's contact preferences."""

from __future__ import annotations

import pytest
from django.urls import reverse

from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor

pytestmark = pytest.mark.django_db


@pytest.fixture
def debtor(client):
    debtor = make_debtor(make_creditor())
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor


def post_preferences(client, debtor, **changes: object):
    form = {"email": debtor.email, "mobile": debtor.mobile, "language": debtor.language,
            "preferred_channel": "", **changes}
    return client.post(reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}), form)


def agreement_events(debtor) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.PREFERENCE,
                                             data__has_key="electronic_agreement"))


def test_page_shows_agreement_checkbox(client, debtor):
    page = client.get(reverse("portal:preferences", kwargs={"debtor_id": debtor.pk}))

    text = page.content.decode()
    assert "Akkoord met elektronische communicatie" in text
    assert 'name="electronic_agreement"' in text


def test_portal_gives_agreement(client, debtor):
    response = post_preferences(client, debtor, electronic_agreement="on")

    assert response.status_code == 302
    debtor.refresh_from_db()
    assert debtor.electronic_agreement is True
    assert debtor.electronic_agreement_at is not None
    assert debtor.electronic_agreement_source == "portal"
    (event,) = agreement_events(debtor)
    assert event.data["electronic_agreement"] is True
    assert event.source == "portal"


def test_portal_withdraws_agreement(client, debtor):
    post_preferences(client, debtor, electronic_agreement="on")

    response = post_preferences(client, debtor)

    assert response.status_code == 302
    debtor.refresh_from_db()
    assert debtor.electronic_agreement is False
    assert debtor.electronic_agreement_at is None
    assert debtor.electronic_agreement_source == ""
    granted, withdrawn = agreement_events(debtor)
    assert granted.data["electronic_agreement"] is True
    assert withdrawn.data["electronic_agreement"] is False
    assert "ingetrokken" in withdrawn.summary
    english = summary_in_language(withdrawn.summary, withdrawn.data, "en")
    assert english == "Agreement to electronic communication withdrawn: the 14-day letter goes by post"


def test_unchanged_agreement_writes_no_row(client, debtor):
    post_preferences(client, debtor, language="en")

    assert agreement_events(debtor) == []


def test_agreement_without_email_rejected(client, debtor):
    response = post_preferences(client, debtor, email="", electronic_agreement="on")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Voor akkoord met elektronische communicatie is een e-mailadres nodig." in page
    assert "Vul uw e-mailadres in, of vink het akkoord uit." in page
    debtor.refresh_from_db()
    assert debtor.electronic_agreement is False
    assert debtor.email != ""
    assert agreement_events(debtor) == []


def test_removing_email_with_agreement_rejected(client, debtor):
    post_preferences(client, debtor, electronic_agreement="on")

    response = post_preferences(client, debtor, email="", electronic_agreement="on")

    assert response.status_code == 200
    debtor.refresh_from_db()
    assert debtor.electronic_agreement is True
    assert debtor.email != ""


def test_agreement_error_in_english(client):
    debtor = make_debtor(make_creditor(), language="en")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))

    response = post_preferences(client, debtor, email="", electronic_agreement="on")

    assert "Agreeing to electronic communication needs an email address." in response.content.decode()


def test_no_email_without_agreement_accepted(client, debtor):
    response = post_preferences(client, debtor, email="")

    assert response.status_code == 302
    debtor.refresh_from_db()
    assert debtor.email == ""
    assert debtor.electronic_agreement is False
