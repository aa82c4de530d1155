"""The back office shows the records that prove what happened but never lets anyone change or delete them.

The timeline is the audit log and contains the event that proves when a
14-day letter went out and when its term ended. The outbox contains the
letter and the amounts it named. An invoice named in a letter keeps its message
lines, so the admin does not delete it either.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Model
from django.urls import reverse

from betaalreis.dunning.run import run_cycle
from betaalreis.dunning.tests.test_reopening import (
    CONSUMER_ROW,
    CONSUMER_RUNS,
    creditor,  # noqa: F401 - the fixture
    import_file,
    invoice,
    messages,
)
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import admin_form_data, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter_event(creditor, tmp_path) -> TimelineEvent:  # noqa: F811 - the imported fixture
    """Import F301 and run the default consumer policy up to its 14-day letter, and return the letter's term event."""
    import_file(tmp_path, "first.csv", CONSUMER_ROW.format(total="300,00", open="300,00"))
    for day in CONSUMER_RUNS:
        run_cycle(day, creditor=creditor)
    assert messages("F301")[-1].stage == "fourteen_day_letter"
    return TimelineEvent.objects.get(debtor=invoice("F301").debtor, kind=TimelineKind.LEGAL)


def form_data(record: Model) -> dict[str, object]:
    """Return a record's fields as change form data, with a changed summary or subject to try to save."""
    data = admin_form_data(record)
    data["summary"] = data["subject"] = "Gewijzigd"
    return data


def test_timeline_event_view_shows_fields(admin_client, letter_event):
    response = admin_client.get(reverse("admin:ledger_timelineevent_change", args=[letter_event.pk]))

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    assert response.context["adminform"].form.fields == {}
    text = response.content.decode()
    assert "Veertiendagentermijn" in text
    assert "term_end" in text
    assert 'name="_save"' not in text


def test_timeline_event_change_rejected(admin_client, letter_event):
    url = reverse("admin:ledger_timelineevent_change", args=[letter_event.pk])

    response = admin_client.post(url, form_data(letter_event))

    assert response.status_code == 403
    reread = TimelineEvent.objects.get(pk=letter_event.pk)
    assert reread.summary == letter_event.summary
    assert reread.at == letter_event.at


def test_timeline_event_delete_rejected(admin_client, letter_event):
    url = reverse("admin:ledger_timelineevent_delete", args=[letter_event.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert page.status_code == 403
    assert response.status_code == 403
    assert TimelineEvent.objects.filter(pk=letter_event.pk).exists()


def test_timeline_event_add_rejected(admin_client, letter_event):
    response = admin_client.get(reverse("admin:ledger_timelineevent_add"))

    assert response.status_code == 403


def test_timeline_bulk_delete_absent(admin_client, letter_event):
    response = admin_client.get(reverse("admin:ledger_timelineevent_changelist"))

    assert response.status_code == 200
    assert "delete_selected" not in response.content.decode()


def test_sent_letter_read_only(admin_client, letter_event):
    letter = Communication.objects.get(pk=letter_event.data["communication_id"])
    assert letter.status == CommunicationStatus.SENT
    change_url = reverse("admin:outbox_communication_change", args=[letter.pk])
    delete_url = reverse("admin:outbox_communication_delete", args=[letter.pk])

    view = admin_client.get(change_url)
    change = admin_client.post(change_url, form_data(letter))
    delete = admin_client.post(delete_url, {"post": "yes"})

    assert view.status_code == 200
    assert view.context["has_change_permission"] is False
    assert "F301" in view.content.decode()
    assert change.status_code == 403
    assert delete.status_code == 403
    reread = Communication.objects.get(pk=letter.pk)
    assert reread.subject == letter.subject
    assert reread.items.count() == 1


def test_invoice_in_letter_not_deleted(admin_client, letter_event):
    url = reverse("admin:ledger_invoice_delete", args=[invoice("F301").pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 403
    # The friendly reminder, the reminder and the 14-day letter each keep their line.
    assert invoice("F301").communication_items.count() == 3


def test_invoice_without_history_deleted(admin_client, creditor):  # noqa: F811 - the imported fixture
    unsent = make_invoice(make_debtor(creditor), "100.00", due=dt.date(2026, 9, 1))
    url = reverse("admin:ledger_invoice_delete", args=[unsent.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not type(unsent).objects.filter(pk=unsent.pk).exists()
