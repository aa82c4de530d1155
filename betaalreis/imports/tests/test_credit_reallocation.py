"""Imports undo the daily run's credit note allocations when the books allocated the credit note otherwise.

Each case is a list of steps (an import of CSV rows, or the daily run's
payment step) and the ledger expected after the last one. The file is the
truth for the open amounts it lists, and no credit note may be deducted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.dunning.models import DunningRestart, ReopenCause
from betaalreis.dunning.run import apply_payments
from betaalreis.imports.registry import ImportReport
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.actions import do_undo_credit_note_allocations
from betaalreis.ledger.models import Allocation, Creditor, Invoice, InvoiceStatus, TimelineEvent

# These tests check the English wording of problem texts and notes.
pytestmark = pytest.mark.usefixtures("english_reports")

HEADER = "Factuurnummer;Klantnummer;Naam;Factuurdatum;Vervaldatum;Bedrag;Openstaand;Valuta;Originele factuur"

F001 = "F001;D1;Jan Jansen;01-10-2026;15-10-2026;100,00;{open};EUR;"
F002 = "F002;D1;Jan Jansen;05-10-2026;20-10-2026;200,00;{open};EUR;"
F003_USD = "F003;D1;Jan Jansen;06-10-2026;21-10-2026;50,00;{open};USD;"
C001 = "C001;D1;Jan Jansen;10-10-2026;10-10-2026;-150,00;{open};EUR;"
C002_USD = "C002;D1;Jan Jansen;10-10-2026;10-10-2026;-80,00;{open};USD;"
F020 = "F020;D3;Klaas Klaassen;01-10-2026;15-10-2026;100,00;{open};EUR;"
C020 = "C020;D3;Klaas Klaassen;10-10-2026;10-10-2026;-40,00;{open};EUR;F020"
F029 = "F029;D4;Anna de Vries;01-10-2026;15-10-2026;100,00;{open};EUR;"
F030 = "F030;D4;Anna de Vries;18-11-2026;02-12-2026;100,00;{open};EUR;"
C030 = "C030;D4;Anna de Vries;20-11-2026;20-11-2026;-40,00;{open};EUR;F030"
F040 = "F040;D5;Bram Bos;01-10-2026;15-10-2026;100,00;{open};EUR;"
F041 = "F041;D5;Bram Bos;02-10-2026;16-10-2026;100,00;{open};EUR;"
C040 = "C040;D5;Bram Bos;10-10-2026;10-10-2026;-150,00;{open};EUR;F040"

RUN = "run"
FIRST = [F001.format(open="100,00"), F002.format(open="200,00"), C001.format(open="-150,00")]


@dataclass
class Import:
    """One import step: file rows, and whether the file lists all open items."""

    rows: list[str]
    open_items: bool = False


@dataclass
class Case:
    steps: list[Import | str]
    open_amounts: dict[str, str]
    held_credit_notes: set[str] = field(default_factory=set)
    # Fragments the last import's notes must contain, and the number of
    # credit notes it re-allocated.
    notes: list[str] = field(default_factory=list)
    reallocated: int = 0
    corrects: dict[str, str] = field(default_factory=dict)


CASES = {
    "booked on another invoice": Case(
        steps=[Import(FIRST), RUN, Import([F001.format(open="100,00"), F002.format(open="50,00"),
                                           C001.format(open="0,00")])],
        open_amounts={"F001": "100.00", "F002": "50.00", "C001": "0.00"},
        notes=["Credit note C001 re-allocated", "applied of it to F001 (€100.00), F002 (€50.00)."],
        reallocated=1,
    ),
    "withdrawn, left out of open items": Case(
        steps=[Import(FIRST), RUN,
               Import([F001.format(open="100,00"), F002.format(open="200,00")], open_items=True)],
        open_amounts={"F001": "100.00", "F002": "200.00", "C001": "0.00"},
        notes=["Credit note C001 re-allocated because the open items leave it out"],
        reallocated=1,
    ),
    "used up, left out of open items": Case(
        steps=[Import([F040.format(open="100,00"), F041.format(open="100,00"), C040.format(open="-150,00"),
                       F020.format(open="100,00")]), RUN,
               Import([F020.format(open="100,00")], open_items=True)],
        open_amounts={"F040": "0.00", "F041": "0.00", "C040": "0.00", "F020": "100.00"},
        corrects={"C040": "F040"},
    ),
    "partly used, left out of open items": Case(
        steps=[Import([F001.format(open="100,00"), C001.format(open="-150,00"), F020.format(open="100,00")]), RUN,
               Import([F020.format(open="100,00")], open_items=True)],
        open_amounts={"F001": "0.00", "C001": "0.00", "F020": "100.00"},
    ),
    "withdrawn, open amount corrected": Case(
        steps=[Import(FIRST), RUN, Import([C001.format(open="-50,00")])],
        open_amounts={"F001": "100.00", "F002": "200.00", "C001": "-50.00"},
        notes=["Open again but not in this file: F001, F002"],
        reallocated=1,
    ),
    "invoice changed, credit note listed": Case(
        steps=[Import(FIRST), RUN, Import([F001.format(open="100,00"), F002.format(open="50,00"),
                                           C001.format(open="-150,00")]), RUN],
        open_amounts={"F001": "0.00", "F002": "0.00", "C001": "0.00"},
        notes=["the books have not booked 50.00 of credit notes that Betaalreis applied to it yet"],
    ),
    "invoice changed, credit note not listed": Case(
        steps=[Import(FIRST), RUN, Import([F002.format(open="50,00")]), RUN],
        open_amounts={"F001": "100.00", "F002": "50.00", "C001": "-150.00"},
        held_credit_notes={"C001"},
        notes=["applies it again only after an import lists it"],
        reallocated=1,
    ),
    "held credit note listed again": Case(
        steps=[Import(FIRST), RUN, Import([F002.format(open="50,00")]), Import([C001.format(open="-30,00")]), RUN],
        open_amounts={"F001": "70.00", "F002": "50.00", "C001": "0.00"},
    ),
    "partial use stays until the books book it": Case(
        steps=[Import(FIRST), RUN],
        open_amounts={"F001": "0.00", "F002": "150.00", "C001": "0.00"},
    ),
    "re-import of the same file": Case(
        steps=[Import(FIRST), RUN, Import(FIRST)],
        open_amounts={"F001": "0.00", "F002": "150.00", "C001": "0.00"},
    ),
    "other currency": Case(
        steps=[Import([F001.format(open="100,00"), F003_USD.format(open="50,00"), C002_USD.format(open="-80,00")]),
               RUN, Import([C002_USD.format(open="-30,00")]), RUN],
        open_amounts={"F001": "100.00", "F003": "20.00", "C002": "0.00"},
        notes=["applied of it to F003 ("],
        reallocated=1,
    ),
    "linked later, books not yet booked": Case(
        steps=[Import([F029.format(open="100,00"), C030.format(open="-40,00")]), RUN,
               Import([F029.format(open="100,00"), F030.format(open="100,00"), C030.format(open="-40,00")])],
        open_amounts={"F029": "100.00", "F030": "60.00", "C030": "0.00"},
        notes=["because the file names its original invoice F030", "C030 is now linked to invoice F030"],
        reallocated=1,
        corrects={"C030": "F030"},
    ),
    "linked later, books booked": Case(
        steps=[Import([F029.format(open="100,00"), C030.format(open="-40,00")]), RUN,
               Import([F029.format(open="100,00"), F030.format(open="60,00"), C030.format(open="0,00")])],
        open_amounts={"F029": "100.00", "F030": "60.00", "C030": "0.00"},
        reallocated=1,
        corrects={"C030": "F030"},
    ),
    "rest of a linked credit note": Case(
        steps=[Import([F040.format(open="100,00"), F041.format(open="100,00"), C040.format(open="-150,00")]), RUN],
        open_amounts={"F040": "0.00", "F041": "50.00", "C040": "0.00"},
        corrects={"C040": "F040"},
    ),
    "rest of a linked credit note booked": Case(
        steps=[Import([F040.format(open="100,00"), F041.format(open="100,00"), C040.format(open="-150,00")]), RUN,
               Import([F040.format(open="0,00"), F041.format(open="50,00"), C040.format(open="0,00")])],
        open_amounts={"F040": "0.00", "F041": "50.00", "C040": "0.00"},
        reallocated=1,
        corrects={"C040": "F040"},
    ),
    "linked at import": Case(
        steps=[Import([F020.format(open="100,00"), C020.format(open="-40,00")]), RUN,
               Import([F020.format(open="100,00"), C020.format(open="-40,00")])],
        open_amounts={"F020": "60.00", "C020": "0.00"},
        corrects={"C020": "F020"},
    ),
}


def play(case: Case, creditor: Creditor, write_file: Callable[..., Path]) -> ImportReport | None:
    report = None
    for number, step in enumerate(case.steps):
        if step == RUN:
            apply_payments(creditor)
            continue
        assert isinstance(step, Import)
        path = write_file(f"export{number}.csv", "\n".join([HEADER, *step.rows]) + "\n")
        report = TabularInvoiceImporter().run(path, creditor, open_items=step.open_items)
    return report


@pytest.mark.parametrize("name", list(CASES))
def test_credit_note_reallocation(name: str, creditor: Creditor, write_file: Callable[..., Path]) -> None:
    case = CASES[name]

    report = play(case, creditor, write_file)

    invoices = {invoice.number: invoice for invoice in Invoice.objects.filter(creditor=creditor)}
    for number, expected in case.open_amounts.items():
        assert invoices[number].open_amount == Decimal(expected), number
    for number, invoice in invoices.items():
        assert invoice.allocation_held == (number in case.held_credit_notes), number
        if invoice.open_amount != 0:
            assert invoice.status == InvoiceStatus.OPEN, number
    for number, target in case.corrects.items():
        assert invoices[number].corrects_id == invoices[target].pk, number
    assert report is not None
    for fragment in case.notes:
        assert any(fragment in note for note in report.notes), (fragment, report.notes)
    assert report.counts.get("credit notes re-allocated", 0) == case.reallocated


@pytest.mark.parametrize("name", list(CASES))
def test_credit_note_never_exceeds_its_total(name: str, creditor: Creditor, write_file: Callable[..., Path]) -> None:
    play(CASES[name], creditor, write_file)

    for credit_note in Invoice.objects.filter(creditor=creditor, kind="credit_note"):
        applied = sum((allocation.amount for allocation in credit_note.credit_allocations.all()), Decimal("0"))
        assert applied + (-credit_note.open_amount) <= -credit_note.total, credit_note.number


def test_undo_writes_timeline_and_keeps_corrected_invoice(
    creditor: Creditor, write_file: Callable[..., Path]
) -> None:
    play(CASES["rest of a linked credit note"], creditor, write_file)
    credit_note = Invoice.objects.get(number="C040")

    undone = do_undo_credit_note_allocations(credit_note, source="test", reason="test")

    assert [allocation.invoice.number for allocation in undone] == ["F041"]
    assert Allocation.objects.get(credit_note=credit_note).invoice.number == "F040"
    assert Invoice.objects.get(number="C040").open_amount == Decimal("-50.00")
    assert Invoice.objects.get(number="F041").open_amount == Decimal("100.00")
    event = TimelineEvent.objects.get(invoice__number="F041", source="test")
    assert "Verrekening creditnota C040 teruggedraaid" in event.summary


def test_undo_restarts_dunning_of_closed_invoice(creditor: Creditor, write_file: Callable[..., Path]) -> None:
    play(CASES["withdrawn, open amount corrected"], creditor, write_file)

    # The run closed F001 with the credit note and left F002 open, so only F001 restarts.
    restart = DunningRestart.objects.get()
    assert restart.invoice.number == "F001"
    assert restart.cause == ReopenCause.CREDIT_NOTE_UNDONE
    assert restart.principal == Decimal("100.00")
    event = TimelineEvent.objects.get(invoice__number="F001", data__reason="dunning_restarted")
    assert "teruggedraaid" in event.summary
    assert "credit note allocation was undone" in event.data["summary_en"]


def test_open_items_keep_used_up_credit_note(creditor: Creditor, write_file: Callable[..., Path]) -> None:
    # CG-1 corrects G-1 at import, and the daily run applies its rest of 50 to G-2.
    rows = [
        "G-1;K30;Lisa Groen;01-11-2026;15-11-2026;100,00;100,00;EUR;",
        "G-2;K30;Lisa Groen;01-11-2026;16-11-2026;80,00;80,00;EUR;",
        "CG-1;K30;Lisa Groen;20-11-2026;20-11-2026;-150,00;-150,00;EUR;G-1",
        "M-1;K9;Mei Test;01-03-2026;01-04-2026;400,00;400,00;EUR;",
    ]
    play(Case(steps=[Import(rows), RUN, Import(rows[3:], open_items=True)], open_amounts={}), creditor, write_file)

    rest = Allocation.objects.get(credit_note__number="CG-1", invoice__number="G-2")
    assert rest.amount == Decimal("50.00")
    assert not TimelineEvent.objects.filter(summary__contains="teruggedraaid").exists()
    settled = TimelineEvent.objects.get(data__reason="missing_from_open_items")
    assert settled.invoice.number == "G-2"
    assert "(was €\xa030,00 open)" in settled.summary
    assert settled.data["changes"]["open_amount"] == {"old": "30.00", "new": "0.00"}
    assert Invoice.objects.get(number="G-2").status == InvoiceStatus.PAID
    assert Invoice.objects.get(number="CG-1").status == InvoiceStatus.CREDITED


def test_open_items_undo_contradicted_credit_note(creditor: Creditor, write_file: Callable[..., Path]) -> None:
    play(CASES["withdrawn, left out of open items"], creditor, write_file)

    undone = TimelineEvent.objects.filter(summary__contains="Verrekening creditnota C001 teruggedraaid")
    assert sorted(event.invoice.number for event in undone) == ["F001", "F002"]
    assert undone[0].data["reason"] == "the open items leave it out and list F001, F002 with another open amount"
    assert not Allocation.objects.filter(credit_note__number="C001").exists()


@dataclass
class ChangeCase:
    """An import that changes invoices a credit note paid: the ledger and the new timeline rows after it and a run."""

    setup: list[Import | str]
    change: Import
    open_amounts: dict[str, str]
    allocations: dict[tuple[str, str], str]
    # (invoice number, summary) of each timeline row that the import and the run after it write.
    rows: list[tuple[str, str]]


EUR = "€\xa0"
CHANGE_CASES = {
    "used up, left out of the file": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import([F001.format(open="0,00"), F002.format(open="150,00")]),
        open_amounts={"F001": "0.00", "F002": "150.00", "C001": "0.00"},
        allocations={("C001", "F001"): "100.00", ("C001", "F002"): "50.00"},
        rows=[],
    ),
    "used up, left out of open items": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import([F002.format(open="150,00")], open_items=True),
        open_amounts={"F001": "0.00", "F002": "150.00", "C001": "0.00"},
        allocations={("C001", "F001"): "100.00", ("C001", "F002"): "50.00"},
        rows=[],
    ),
    "partly used, left out of the file": ChangeCase(
        setup=[Import([F001.format(open="100,00"), C001.format(open="-150,00")]), RUN],
        change=Import([F001.format(open="0,00")]),
        open_amounts={"F001": "0.00", "C001": "-50.00"},
        allocations={("C001", "F001"): "100.00"},
        rows=[],
    ),
    "open amount up": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import([F002.replace("200,00", "250,00").format(open="250,00"), C001.format(open="-150,00")]),
        open_amounts={"F001": "0.00", "F002": "200.00", "C001": "0.00"},
        allocations={("C001", "F001"): "100.00", ("C001", "F002"): "50.00"},
        rows=[("F002", f"Factuur F002 gewijzigd door import: totaal {EUR}200,00 → {EUR}250,00, "
                       f"openstaand {EUR}150,00 → {EUR}200,00")],
    ),
    "open amount down": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import([F002.format(open="100,00"), C001.format(open="-150,00")]),
        open_amounts={"F001": "0.00", "F002": "50.00", "C001": "0.00"},
        allocations={("C001", "F001"): "100.00", ("C001", "F002"): "50.00"},
        rows=[("F002", f"Factuur F002 gewijzigd door import: openstaand {EUR}150,00 → {EUR}50,00")],
    ),
    "invoice paid in full": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import([F002.format(open="0,00"), C001.format(open="-150,00")]),
        open_amounts={"F001": "0.00", "F002": "0.00", "C001": "-50.00"},
        allocations={("C001", "F001"): "100.00"},
        rows=[
            ("F002", f"Verrekening creditnota C001 teruggedraaid: {EUR}50,00 op factuur F002 staat weer open"),
            ("F002", f"Factuur F002 gewijzigd door import: openstaand {EUR}200,00 → {EUR}0,00"),
        ],
    ),
    "closed invoice paid in full": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import([F001.format(open="0,00"), C001.format(open="-150,00")]),
        open_amounts={"F001": "0.00", "F002": "50.00", "C001": "0.00"},
        allocations={("C001", "F002"): "150.00"},
        rows=[
            ("F001", f"Verrekening creditnota C001 teruggedraaid: {EUR}100,00 op factuur F001 staat weer open"),
            ("F001", f"Factuur F001 gewijzigd door import: openstaand {EUR}100,00 → {EUR}0,00"),
            ("C001", f"Creditnota C001 zonder originele factuur: {EUR}100,00 verrekend met F002"),
        ],
    ),
    "re-import of the same file": ChangeCase(
        setup=[Import(FIRST), RUN],
        change=Import(FIRST),
        open_amounts={"F001": "0.00", "F002": "150.00", "C001": "0.00"},
        allocations={("C001", "F001"): "100.00", ("C001", "F002"): "50.00"},
        rows=[],
    ),
}


@pytest.mark.parametrize("name", list(CHANGE_CASES))
def test_changed_invoice_keeps_credit_note(name: str, creditor: Creditor, write_file: Callable[..., Path]) -> None:
    case = CHANGE_CASES[name]
    play(Case(steps=case.setup, open_amounts={}), creditor, write_file)
    last_row = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    play(Case(steps=[case.change, RUN], open_amounts={}), creditor, write_file)

    invoices = {invoice.number: invoice for invoice in Invoice.objects.filter(creditor=creditor)}
    for number, expected in case.open_amounts.items():
        assert invoices[number].open_amount == Decimal(expected), number
    assert not [number for number, invoice in invoices.items() if invoice.allocation_held]
    allocations: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for allocation in Allocation.objects.filter(credit_note__isnull=False).select_related("credit_note", "invoice"):
        allocations[(allocation.credit_note.number, allocation.invoice.number)] += allocation.amount
    assert allocations == {key: Decimal(amount) for key, amount in case.allocations.items()}
    rows = TimelineEvent.objects.filter(pk__gt=last_row).select_related("invoice").order_by("pk")
    assert [(row.invoice.number, row.summary) for row in rows] == case.rows
    assert not DunningRestart.objects.exists()


def test_undone_closed_invoice_restarts_once(creditor: Creditor, write_file: Callable[..., Path]) -> None:
    # The run closes F001 with C001. The books received 70 on F001 by other means, and still have C001 open.
    steps = [Import(FIRST), RUN, Import([F001.format(open="30,00"), C001.format(open="-150,00")])]

    play(Case(steps=steps, open_amounts={}), creditor, write_file)

    assert Invoice.objects.get(number="F001").open_amount == Decimal("30.00")
    assert not Allocation.objects.filter(credit_note__number="C001", invoice__number="F001").exists()
    restart = DunningRestart.objects.get()
    assert restart.invoice.number == "F001"
    assert restart.cause == ReopenCause.CREDIT_NOTE_UNDONE
    assert restart.principal == Decimal("30.00")
    assert TimelineEvent.objects.filter(invoice__number="F001", data__reason="dunning_restarted").count() == 1
