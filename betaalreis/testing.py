"""Small factories for tests: valid creditors, debtors and invoices."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import shutil
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict
from django.utils import timezone

from betaalreis.dunning.models import InvoiceStage
from betaalreis.ledger.models import Creditor, Debtor, DebtorKind, Invoice, InvoiceKind, InvoiceStatus

_sequence = itertools.count(1)

# Redis for the tests that need one: REDIS_URL, else database 5 on 127.0.0.1.
TEST_REDIS_URL = os.environ.get("REDIS_URL", "") or "redis://127.0.0.1:6379/5"


def redis_reachable(url: str) -> bool:
    """Return whether a Redis server at `url` responds to PING within one second."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1.0).ping())
    except redis.RedisError:
        return False

# The corpus of real files lives in shared/corpus beside the repository;
# BETAALREIS_CORPUS points elsewhere, for a checkout in another place.
CORPUS_DIR = Path(
    os.environ.get(
        "BETAALREIS_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"
    )
)


def make_creditor(slug: str = "acme", **fields: object) -> Creditor:
    values: dict[str, object] = {
        "legal_name": f"{slug.title()} B.V.",
        "iban": "NL91ABNA0417164300",
        "bic": "ABNANL2A",
        # KvK numbers are unique per creditor, so each slug gets its own.
        "kvk_number": "12345678" if slug == "acme" else f"{zlib.crc32(slug.encode()) % 10**8:08d}",
        "street": "Keizersgracht 1",
        "postal_code": "1015 CJ",
        "city": "Amsterdam",
        "email": f"debiteuren@{slug}.example",
        "phone": "+31201234567",
    }
    values.update(fields)
    return Creditor.objects.create(slug=slug, **values)


def make_debtor(creditor: Creditor, **fields: object) -> Debtor:
    number = next(_sequence)
    values: dict[str, object] = {
        "customer_number": f"D{number:05d}",
        "kind": DebtorKind.CONSUMER,
        "name": f"Debiteur {number}",
        "email": f"debiteur{number}@example.nl",
        "mobile": "+31612345678",
        "street": "Dorpsstraat 1",
        "postal_code": "1234 AB",
        "city": "Utrecht",
        "language": "nl",
    }
    values.update(fields)
    return Debtor.objects.create(creditor=creditor, **values)


def make_invoice(
    debtor: Debtor,
    amount: str | Decimal = "100.00",
    *,
    due: dt.date,
    dunning_stage: str = "",
    dunning_stage_date: dt.date | None = None,
    **fields: object,
) -> Invoice:
    """Create an open invoice, at the stage `dunning_stage` when one is given."""
    number = next(_sequence)
    amount = Decimal(amount)
    values: dict[str, object] = {
        "number": f"F{number:06d}",
        "kind": InvoiceKind.INVOICE if amount >= 0 else InvoiceKind.CREDIT_NOTE,
        "issue_date": due - dt.timedelta(days=14),
        "due_date": due,
        "total": amount,
        "open_amount": amount,
        "status": InvoiceStatus.OPEN,
    }
    values.update(fields)
    invoice = Invoice.objects.create(creditor=debtor.creditor, debtor=debtor, **values)
    if dunning_stage:
        InvoiceStage.objects.create(invoice=invoice, stage=dunning_stage, stage_date=dunning_stage_date)
    return invoice


def make_sent_letter(debtor: Debtor, invoices: list[Invoice], day: dt.date, *, channel: str = "letter") -> Any:
    """Create a 14-day letter naming `invoices` that was planned and sent on `day` at 10:00 Amsterdam time."""
    from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

    letter = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel=channel, stage="fourteen_day_letter", language="nl",
        idempotency_key=f"letter-{day}", status=CommunicationStatus.SENT, run_date=day,
        sent_at=dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo("Europe/Amsterdam")),
        total_amount=sum((invoice.open_amount for invoice in invoices), Decimal("0.00")),
    )
    for invoice in invoices:
        CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=invoice.open_amount)
    return letter


def admin_form_data(record: Model) -> dict[str, object]:
    """Return the fields of `record` as the POST data of its unchanged admin change form."""
    data: dict[str, object] = {}
    for name, value in model_to_dict(record).items():
        if isinstance(value, dt.datetime):
            # The admin shows a date and a time field for a moment.
            local = timezone.localtime(value)
            data[f"{name}_0"], data[f"{name}_1"] = local.date().isoformat(), local.time().isoformat("seconds")
        elif isinstance(value, FieldFile):
            # A file input left alone posts nothing, and the form keeps the stored file.
            continue
        elif value is not None:
            data[name] = value
    return data


# Debian's chromium, which the browser tests drive through Playwright.
# Set to 1 to let the browser tests refresh the screenshots under docs/screenshots (`make screenshots`).
REFRESH_SCREENSHOTS_VARIABLE = "BETAALREIS_REFRESH_SCREENSHOTS"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def screenshot_folder(temporary: Path, environ: dict[str, str] | None = None) -> Path:
    """Return where browser tests save screenshots: docs/screenshots when the variable is "1", else `temporary`.

    A plain test run writes to `temporary`, so it leaves the tracked
    screenshots of a checkout unchanged.
    """
    environ = os.environ if environ is None else environ
    if environ.get(REFRESH_SCREENSHOTS_VARIABLE) == "1":
        return DOCS_SCREENSHOTS
    return temporary


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Start headless chromium for a browser test and close it afterwards; fail the test without it."""
    import pytest
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}; install it with `apt-get install -y chromium`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def migrate_to(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to `targets` (app label, migration name) and return the apps of that state."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> None:
    """Apply every migration again, so the tests after a migration test find the current schema."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
