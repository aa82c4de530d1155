"""English names of the stages of a creditor's own policy: in the timeline, the admin and the commands."""

from __future__ import annotations

import datetime as dt
import io
import tomllib
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from betaalreis.dunning.models import Stage
from betaalreis.dunning.policies import DEFAULT_POLICY_FILES, load_policy, seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import Invoice, TimelineEvent
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

OWN_POLICY = """\
name = "Eigen beleid"
debtor_kind = "consumer"

[[stages]]
code = "first_demand"
name_nl = "Eerste aanmaning"
name_en = "First demand"
offset_days = 3
channels = ["email"]

[[stages]]
code = "second_demand"
name_nl = "Tweede aanmaning"
offset_days = 20
channels = ["email"]
"""


@pytest.fixture
def own_policy(tmp_path: Path):
    """A creditor whose consumer policy names its stages itself, the second one in Dutch only."""
    creditor = make_creditor()
    path = tmp_path / "eigen.toml"
    path.write_text(OWN_POLICY, encoding="utf-8")
    load_policy(creditor, path)
    return creditor


def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))
    return client


def test_policy_without_english_name_loads(own_policy) -> None:
    second = Stage.objects.get(policy__creditor=own_policy, code="second_demand")

    assert second.name_en == ""
    assert second.name_for("en") == "Tweede aanmaning"
    assert second.name_for("nl") == "Tweede aanmaning"


def test_seeded_policies_have_english_names() -> None:
    creditor = make_creditor()

    seed_default_policies(creditor)

    stages = Stage.objects.filter(policy__creditor=creditor)
    in_files = sum(len(tomllib.loads(path.read_text(encoding="utf-8"))["stages"]) for path in DEFAULT_POLICY_FILES.values())
    assert stages.count() == in_files
    assert list(stages.filter(name_en="").values_list("code", flat=True)) == []


def test_own_stage_name_in_english_timeline(own_policy) -> None:
    debtor = make_debtor(own_policy)
    make_invoice(debtor, "80.00", due=dt.date(2026, 11, 1), number="F-1")

    run_cycle(dt.date(2026, 11, 5), creditor=own_policy)

    event = TimelineEvent.objects.get(debtor=debtor, summary__startswith="Eerste aanmaning gepland")
    english = summary_in_language(event.summary, event.data, "en", creditor_id=own_policy.pk)
    assert english.startswith("First demand planned by email")
    assert summary_in_language(event.summary, event.data, "nl", creditor_id=own_policy.pk) == event.summary
    with translation.override("en"):
        assert "First demand planned by email" in str(event)


def test_dutch_only_stage_shown_in_dutch(own_policy) -> None:
    debtor = make_debtor(own_policy)
    make_invoice(debtor, "80.00", due=dt.date(2026, 11, 1), number="F-1")
    run_cycle(dt.date(2026, 11, 5), creditor=own_policy)

    run_cycle(dt.date(2026, 11, 22), creditor=own_policy)

    event = TimelineEvent.objects.get(debtor=debtor, summary__startswith="Tweede aanmaning gepland")
    english = summary_in_language(event.summary, event.data, "en", creditor_id=own_policy.pk)
    assert english.startswith("Tweede aanmaning planned by email")


def test_admin_shows_own_stage_names_in_english(own_policy) -> None:
    debtor = make_debtor(own_policy)
    make_invoice(debtor, "80.00", due=dt.date(2026, 11, 1), number="F-1")
    run_cycle(dt.date(2026, 11, 5), creditor=own_policy)
    client = superuser_client()

    debtor_page = client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk]), HTTP_ACCEPT_LANGUAGE="en")
    invoices_page = client.get(reverse("admin:ledger_invoice_changelist"), HTTP_ACCEPT_LANGUAGE="en")

    assert "First demand planned by email" in debtor_page.content.decode()
    assert "Eerste aanmaning" not in debtor_page.content.decode()
    assert "First demand" in invoices_page.content.decode()


def test_admin_stage_falls_back_to_dutch(own_policy) -> None:
    debtor = make_debtor(own_policy)
    make_invoice(debtor, "80.00", due=dt.date(2026, 11, 1), number="F-1")
    run_cycle(dt.date(2026, 11, 5), creditor=own_policy)
    run_cycle(dt.date(2026, 11, 22), creditor=own_policy)
    assert Invoice.objects.get(number="F-1").dunning_stage == "second_demand"

    page = superuser_client().get(reverse("admin:ledger_invoice_changelist"), HTTP_ACCEPT_LANGUAGE="en")

    text = page.content.decode()
    assert "<td class=\"field-dunning_stage\">Tweede aanmaning</td>" in text
    assert "Tweede aanmaning</a>" in text


def test_admin_edits_english_name(own_policy) -> None:
    second = Stage.objects.get(policy__creditor=own_policy, code="second_demand")
    url = reverse("admin:dunning_policy_change", args=[second.policy_id])

    page = superuser_client().get(url).content.decode()

    assert 'name="stages-1-name_en"' in page


def test_policy_show_falls_back_to_dutch(own_policy) -> None:
    output = io.StringIO()

    call_command("policy", "show", "--creditor", own_policy.slug, "--lang", "en", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "First demand (first_demand)" in text
    assert "Tweede aanmaning (second_demand)" in text
