"""camt.054 notifications, foreign currency amounts, and a notification followed by its statement."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from betaalreis.banking.importers import Camt05xImporter
from betaalreis.banking.models import BankTransaction
from betaalreis.banking.samples import SampleEntry, write_camt053, write_camt054
from betaalreis.imports.registry import HEAD_BYTES, ImportRejected
from betaalreis.ledger.models import Payment, PaymentStatus

from .helpers import CREDITOR_IBAN, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

NOTIFICATION = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
 <BkToCstmrDbtCdtNtfctn>
  <GrpHdr><MsgId>N-1</MsgId><CreDtTm>2026-12-01T10:00:00+01:00</CreDtTm></GrpHdr>
  <Ntfctn>
   <Id>N-1</Id>
   <Acct><Id><IBAN>{iban}</IBAN></Id></Acct>
   <Ntry>
    <Amt Ccy="EUR">92.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><DtTm>2026-11-30T23:30:00Z</DtTm></BookgDt>
    <AcctSvcrRef>SAME-REF</AcctSvcrRef>
    <Chrgs><Rcrd><Amt Ccy="EUR">1.25</Amt></Rcrd></Chrgs>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>E2E-77</EndToEndId></Refs>
     <AmtDtls><InstdAmt><Amt Ccy="USD">100.00</Amt></InstdAmt><TxAmt><Amt Ccy="EUR">92.50</Amt></TxAmt></AmtDtls>
     <RltdPties><Dbtr><Pty><Nm>Acme Inc</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
     <RltdAgts><DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>Invoice 2026-0042</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Ntfctn>
 </BkToCstmrDbtCdtNtfctn>
</Document>
"""


def test_notification_imported_and_matched(tmp_path: Path):
    creditor = make_creditor()
    invoice = make_invoice(make_debtor(creditor, "D1", "Acme Inc"), "2026-0042", "92.50")
    path = tmp_path / "notification.xml"
    path.write_text(NOTIFICATION.format(iban=CREDITOR_IBAN))

    assert Camt05xImporter.detect(path, path.read_bytes()[:HEAD_BYTES])
    report = Camt05xImporter().run(path, None)

    row = BankTransaction.objects.get()
    payment = Payment.objects.get()
    invoice.refresh_from_db()
    assert report.counts["matched automatically"] == 1
    assert payment.status == PaymentStatus.MATCHED
    assert payment.payer_name == "Acme Inc"
    assert payment.booking_date.isoformat() == "2026-12-01"
    assert row.original_amount == Decimal("100.00")
    assert row.original_currency == "USD"
    assert row.charges == Decimal("1.25")
    assert row.counterparty_bic == "COBADEFFXXX"
    assert invoice.open_amount == Decimal("0.00")


def test_statement_after_notification_no_duplicate(tmp_path: Path):
    make_creditor()
    notification = tmp_path / "notification.xml"
    notification.write_text(NOTIFICATION.format(iban=CREDITOR_IBAN))
    Camt05xImporter().run(notification, None)

    statement = write_camt053(
        tmp_path / "statement.xml", CREDITOR_IBAN,
        [SampleEntry(Decimal("92.50"), reference="SAME-REF"), SampleEntry(Decimal("3.00"), reference="OTHER")],
    )
    report = Camt05xImporter().run(statement, None)

    assert report.counts["already imported"] == 1
    assert report.counts["new payments"] == 1
    assert Payment.objects.count() == 2


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "booking date and value date are both missing; the bank must give at least one"),
    ("nl", "boekingsdatum en valutadatum ontbreken allebei; de bank moet er minstens één geven"),
])
def test_entry_without_dates_rejected(tmp_path: Path, language: str, expected: str):
    make_creditor()
    path = write_camt054(tmp_path / "notification.xml", CREDITOR_IBAN, [SampleEntry(Decimal("92.50"), reference="R1")])
    path.write_text(re.sub(r"<(BookgDt|ValDt)>.*?</\1>", "", path.read_text()))

    with translation.override(language), pytest.raises(ImportRejected) as rejected:
        Camt05xImporter().run(path, None)

    assert expected in str(rejected.value)
    assert not Payment.objects.exists()
