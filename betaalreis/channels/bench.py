"""Measure rendering plus file-outbox writing per channel on one core.

Run: `python -m betaalreis.channels.bench [--emails N] [--letters N] [--sms N]`.
It builds synthetic contexts (no database), renders each message and hands
it to the file adapter, in a temporary BETAALREIS_HOME, and prints messages
per second per channel. The numbers cover this module's work only; the
dispatch's database reads and writes come on top.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path


def _contexts(count: int, stage: str) -> list:
    from betaalreis.channels.render import CreditorInfo, DebtorInfo, InvoiceLine, MessageContext
    from betaalreis.legal.references import make_rf_reference

    creditor = CreditorInfo(
        slug="bench", name="Bench B.V.", legal_name="Bench B.V.", iban="NL91ABNA0417164300",
        street="Dorpsstraat 1", postal_code="1234 AB", city="Utrecht", email="debiteuren@bench.example",
    )
    day = dt.date(2026, 12, 4)
    contexts = []
    for number in range(count):
        invoices = tuple(
            InvoiceLine(
                number=f"2026-{number:06d}-{line}", issue_date=day - dt.timedelta(days=60),
                due_date=day - dt.timedelta(days=30 - line), open_amount=Decimal("123.45") + line,
                days_overdue=30 - line,
            )
            for line in range(1 + number % 3)
        )
        contexts.append(MessageContext(
            creditor=creditor,
            debtor=DebtorInfo(
                id=number, customer_number=f"K{number}", name=f"Debiteur {number}", is_consumer=True,
                email=f"d{number}@example.nl", mobile="+31612345678", street="Kerkstraat 1",
                postal_code="3511 AA", city="Utrecht",
            ),
            stage_code=stage, stage_name=stage, language="nl" if number % 4 else "en",
            invoices=invoices, total_due=sum((line.open_amount for line in invoices), Decimal("0.00")),
            currency="EUR", payment_reference=make_rf_reference(f"D{number}"),
            portal_url=f"http://127.0.0.1:8000/p/bench-token-{number:08d}/",
            idempotency_key=f"bench:{number}:{stage}", date=day,
        ))
    return contexts


def _measure(channel: str, count: int, stage: str) -> float:
    from betaalreis.channels.base import get_backend
    from betaalreis.channels.render import render_message

    contexts = _contexts(count, stage)
    backend = get_backend(channel)

    # The first message loads templates and fonts; leave it out of the rate.
    backend.send(render_message(contexts[0], channel))
    started = time.process_time()
    for context in contexts[1:]:
        backend.send(render_message(context, channel))
    elapsed = time.process_time() - started
    return (count - 1) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000, help="number of emails to render and write")
    parser.add_argument("--letters", type=int, default=300, help="number of letter PDFs to render and write")
    parser.add_argument("--sms", type=int, default=2000, help="number of SMS to render and write")
    arguments = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="betaalreis-bench-"))
    os.environ["BETAALREIS_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")
    import django

    django.setup()

    for channel, count in (("email", arguments.emails), ("sms", arguments.sms), ("letter", arguments.letters)):
        if count > 1:
            rate = _measure(channel, count, "reminder")
            print(f"{channel:7} {count:6} messages  {rate:8.1f} per CPU second")
    print(f"outbox: {home / 'outbox'}")


if __name__ == "__main__":
    main()
