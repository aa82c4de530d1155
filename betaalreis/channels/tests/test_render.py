"""Rendering messages from templates: languages, stages, overrides and the sandbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.channels.render import ClaimBreakdown, TemplateError, render_message
from betaalreis.channels.render.templating import templates_unchanged
from betaalreis.channels.tests.conftest import invoice
from betaalreis.channels.webhooks.email import reply_address
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Debtor

STAGES = ["friendly_reminder", "reminder", "second_reminder", "fourteen_day_letter", "final_notice", "handover"]
TERM_NL = "binnen veertien dagen na de dag waarop u deze brief heeft ontvangen"
TERM_EN = "within fourteen days after the day on which you received this letter"


def plain(text: str) -> str:
    """Return `text` with no-break spaces as plain spaces; babel puts one after "€" in Dutch."""
    return text.replace("\xa0", " ")


def write_override(home: Path, slug: str, name: str, text: str) -> None:
    path = home / "templates" / slug / "messages" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_email_dutch_formats(make_context) -> None:
    message = render_message(make_context(), "email")

    assert message.subject == "Herinnering: € 1.659,56 nog niet betaald"
    assert message.text.startswith("Beste Zoë de Vries-Ëlberg,")
    assert "€ 1.234,56" in plain(message.text)
    assert "vervaldatum 15-11-2026" in message.text
    assert "NL91 ABNA 0417 1643 00" in message.text
    assert "Bakkerij Zoet B.V." in message.text
    assert message.recipient == "zoe@example.nl"
    assert message.cc == ("boekhouding@example.nl",)
    assert message.reply_to == "debiteuren@bakkerijzoet.example"


def test_email_reply_to_inbound_address(make_context, settings) -> None:
    settings.BETAALREIS_INBOUND_EMAIL_DOMAIN = "antwoord.bakkerijzoet.example"

    message = render_message(make_context(), "email")

    assert message.reply_to == reply_address(Debtor(pk=42), "antwoord.bakkerijzoet.example")
    assert message.reply_to.startswith("reply+42-")
    assert message.reply_to.endswith("@antwoord.bakkerijzoet.example")


def test_email_reply_to_creditor_without_domain(make_context, settings) -> None:
    settings.BETAALREIS_INBOUND_EMAIL_DOMAIN = ""

    message = render_message(make_context(), "email")

    assert message.reply_to == "debiteuren@bakkerijzoet.example"


def test_english_dates_name_the_month(make_context) -> None:
    # 01/10/2026 reads as 10 January to an American reader.
    october = (invoice("2026-0042", "425.00", dt.date(2026, 10, 1), issued=dt.date(2026, 9, 17)),)
    context = make_context(language="en", invoices=october, total_due=Decimal("425.00"))

    email_text = render_message(context, "email").text
    letter_text = render_message(context, "letter").text

    assert "due 1 Oct 2026" in email_text
    assert "dated 17 Sept 2026, due 1 Oct 2026" in letter_text
    assert "01/10/2026" not in email_text + letter_text


def test_email_english_formats(make_context) -> None:
    message = render_message(make_context(language="en"), "email")

    assert message.subject == "Reminder: €1,659.56 not yet paid"
    assert message.text.startswith("Dear Zoë de Vries-Ëlberg,")
    assert "due 15 Nov 2026" in message.text
    assert "15/11/2026" not in message.text
    assert "Herinnering" not in message.text


def test_letter_text_has_long_date(make_context) -> None:
    dutch = render_message(make_context(), "letter")
    english = render_message(make_context(language="en"), "letter")

    assert "Utrecht, 4 december 2026" in dutch.text
    assert "Utrecht, 4 December 2026" in english.text


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("channel", ["email", "letter", "sms", "whatsapp"])
def test_every_stage_renders(make_context, stage: str, language: str, channel: str) -> None:
    message = render_message(make_context(stage_code=stage, language=language), channel)

    amount = "1.659,56" if language == "nl" else "1,659.56"
    assert amount in message.text
    assert make_context().portal_url in message.text


def test_pay_button_links_portal(make_context) -> None:
    context = make_context()

    message = render_message(context, "email")

    assert f'<a href="{context.portal_url}"' in message.html
    assert "Nu betalen" in message.html
    assert "#8a2be2" in message.html


def test_html_escapes_debtor_data(make_context, debtor_info) -> None:
    debtor = dataclasses.replace(debtor_info, name="<script>alert(1)</script> & Zn")

    message = render_message(make_context(debtor=debtor), "email")

    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zn" in message.html
    assert "<script>alert(1)</script> & Zn" in message.text


def test_invalid_brand_colour_is_replaced(make_context, creditor_info) -> None:
    creditor = dataclasses.replace(creditor_info, brand_color="red;background:url(x)")

    message = render_message(make_context(creditor=creditor), "email")

    assert "url(x)" not in message.html
    assert "#1f4e79" in message.html


def test_friendly_reminder_before_due_date(make_context) -> None:
    not_due = (invoice("2026-0099", "80.00", dt.date(2026, 12, 7)),)

    message = render_message(make_context(stage_code="friendly_reminder", invoices=not_due, total_due=Decimal("80.00")), "email")

    assert "loopt binnenkort af" in message.text
    assert "nog niet ontvangen" not in message.text


def test_fourteen_day_letter_with_claim(make_context, claim) -> None:
    context = make_context(stage_code="fourteen_day_letter", claim=claim)

    letter = render_message(context, "letter")

    assert TERM_NL in letter.text
    assert "dagtekening" not in letter.text
    assert "(de hoofdsom) is € 1.659,56" in plain(letter.text)
    assert "Daarbij komt tot nu toe € 12,30 wettelijke rente." in plain(letter.text)
    assert f"Wij vragen u € 1.671,86 te betalen {TERM_NL}." in plain(letter.text)
    assert "Dan brengen wij € 248,93 incassokosten in rekening." in plain(letter.text)
    assert "Totaal te betalen: € 1.671,86" in plain(letter.text)
    assert "Incassokosten:" not in letter.text


@pytest.mark.parametrize(
    ("language", "singular", "plural"),
    [
        ("nl", "Het bedrag van de factuur (de hoofdsom)", "Het bedrag van de facturen"),
        ("en", "The amount of the invoice (the principal)", "The amount of the invoices"),
    ],
)
def test_fourteen_day_letter_one_invoice_singular(make_context, language, singular, plural) -> None:
    single_invoice = (invoice("2026-0042", "425.00", dt.date(2026, 11, 1)),)
    context = make_context(stage_code="fourteen_day_letter", language=language, invoices=single_invoice,
                           total_due=Decimal("425.00"))

    for channel in ("email", "letter"):
        text = render_message(context, channel).text

        assert singular in text
        assert plural not in text
    assert plural in render_message(make_context(stage_code="fourteen_day_letter", language=language), "letter").text


def test_fourteen_day_letter_without_claim(make_context) -> None:
    letter = render_message(make_context(stage_code="fourteen_day_letter"), "letter")

    assert TERM_NL in letter.text
    assert "(de hoofdsom) is € 1.659,56" in plain(letter.text)
    assert f"Wij vragen u € 1.659,56 te betalen {TERM_NL}." in plain(letter.text)
    assert "incassokosten" not in letter.text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Daarom bent u nu al € 45,00 incassokosten verschuldigd. Dat bedrag is deel van de € 1.716,86 "
               "hierboven. Betaalt u niet binnen deze termijn? Dan worden de incassokosten in totaal € 248,93: "
               "€ 203,93 meer dan nu. U betaalt de incassokosten één keer: het hoogste bedrag, niet de bedragen "
               "van de brieven bij elkaar opgeteld."),
        ("en", "You therefore already owe €45.00 in collection costs. That amount is part of the €1,716.86 "
               "above. If you do not pay within this term, the collection costs will come to €248.93 in total: "
               "€203.93 more than now. You pay the collection costs once: the highest amount, not the amounts "
               "of the letters added together."),
    ],
)
def test_fourteen_day_letter_with_costs_owed(make_context, claim, language, expected) -> None:
    owed = dataclasses.replace(
        claim, costs=Decimal("45.00"), costs_due=True, total=Decimal("1716.86"),
        costs_increase_if_unpaid=Decimal("203.93"),
    )

    for channel in ("email", "letter"):
        context = make_context(stage_code="fourteen_day_letter", claim=owed, language=language)
        text = " ".join(plain(render_message(context, channel).text).split())

        assert expected in text


@pytest.mark.parametrize(
    ("language", "partly_paid", "expected"),
    [
        ("nl", False, "veertiendagenbrief is verstreken zonder betaling. Daarom"),
        ("nl", True, "veertiendagenbrief is verstreken zonder volledige betaling. Daarom"),
        ("en", False, "fourteen-day letter has passed without payment. You therefore"),
        ("en", True, "fourteen-day letter has passed without full payment. You therefore"),
    ],
)
def test_fourteen_day_letter_term_passed_after_payment(make_context, claim, language, partly_paid, expected) -> None:
    owed = dataclasses.replace(
        claim, costs=Decimal("45.00"), costs_due=True, total=Decimal("1716.86"), partly_paid=partly_paid,
        paid=Decimal("916.66") if partly_paid else Decimal("0.00"),
    )

    for channel in ("email", "letter"):
        context = make_context(stage_code="fourteen_day_letter", claim=owed, language=language)
        text = " ".join(plain(render_message(context, channel).text).split())

        assert expected in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Dan blijven de incassokosten in totaal € 45,00. U betaalt"),
        ("en", "the collection costs will stay at €45.00 in total. You pay"),
    ],
)
def test_fourteen_day_letter_costs_stay(make_context, claim, language, expected) -> None:
    owed = dataclasses.replace(
        claim, costs=Decimal("45.00"), costs_due=True, total=Decimal("1716.86"),
        costs_if_unpaid=Decimal("45.00"), costs_increase_if_unpaid=Decimal("0.00"),
    )

    text = plain(render_message(make_context(stage_code="fourteen_day_letter", claim=owed, language=language), "letter").text)

    assert expected in text


def test_fourteen_day_letter_without_costs(make_context, claim) -> None:
    # Only invoices in default before 1 July 2012, which bear no costs (BIK art. 3).
    none = dataclasses.replace(claim, costs=Decimal("0.00"), costs_if_unpaid=Decimal("0.00"))

    text = render_message(make_context(stage_code="fourteen_day_letter", claim=none), "letter").text

    assert "incassokosten" not in text.lower().split("het gaat om")[0]


def test_fourteen_day_letter_english(make_context, claim) -> None:
    letter = render_message(make_context(stage_code="fourteen_day_letter", claim=claim, language="en"), "letter")

    assert f"Please pay €1,671.86 {TERM_EN}." in letter.text
    assert "we will charge €248.93 in collection costs." in letter.text


@pytest.mark.parametrize(
    ("language", "cost_sentence_end", "list_heading"),
    [
        ("nl", "de wettelijke regels voor incassokosten.", "Het gaat om deze facturen:"),
        ("en", "the statutory rules for collection costs.", "These are the invoices:"),
    ],
)
def test_fourteen_day_email_one_blank_line(make_context, claim, language, cost_sentence_end, list_heading) -> None:
    text = render_message(make_context(stage_code="fourteen_day_letter", claim=claim, language=language), "email").text

    assert f"{cost_sentence_end}\n\n{list_heading}\n" in text
    assert "\n\n\n" not in text


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("with_claim", [False, True])
def test_email_text_no_double_blank_lines(make_context, claim, stage: str, language: str, with_claim: bool) -> None:
    context = make_context(stage_code=stage, language=language, claim=claim if with_claim else None)

    text = render_message(context, "email").text

    assert "\n\n\n" not in text


def test_fourteen_day_term_from_claim(make_context, claim) -> None:
    longer = dataclasses.replace(claim, term_text="binnen vijftien dagen nadat deze brief bij u is bezorgd")

    letter = render_message(make_context(stage_code="fourteen_day_letter", claim=longer), "letter")

    assert "binnen vijftien dagen nadat deze brief bij u is bezorgd" in letter.text


def test_final_notice_with_costs_due(make_context, claim) -> None:
    owed = dataclasses.replace(claim, costs_due=True, total=Decimal("1920.79"))

    message = render_message(make_context(stage_code="final_notice", claim=owed), "email")

    assert "Wilt u € 1.920,79 binnen zeven dagen betalen?" in plain(message.text)
    assert "Incassokosten: € 248,93" in plain(message.text)
    assert "Bedrag:           € 1.920,79" in plain(message.text)
    assert "Totaal te betalen" in message.html


@pytest.mark.parametrize(
    ("language", "commercial", "label"),
    [
        ("nl", False, "Wettelijke rente: € 12,30"),
        ("nl", True, "Wettelijke handelsrente: € 12,30"),
        ("en", False, "Statutory interest: €12.30"),
        ("en", True, "Statutory commercial interest: €12.30"),
    ],
)
def test_interest_label_by_rate(make_context, claim, language: str, commercial: bool, label: str) -> None:
    owed = dataclasses.replace(claim, costs_due=True, commercial_interest=commercial)
    context = make_context(stage_code="final_notice", claim=owed, language=language)

    for channel in ("email", "letter"):
        message = render_message(context, channel)

        assert label in plain(message.text)


@pytest.mark.parametrize(
    ("language", "phrase"),
    [("nl", "ook na onze laatste aanmaning nog niet betaald"), ("en", "Even after our final notice,")],
)
def test_handover_cites_final_notice(make_context, language: str, phrase: str) -> None:
    for channel in ("email", "letter"):
        reminded = render_message(make_context(stage_code="handover", language=language, reminded_before=True), channel)
        first = render_message(make_context(stage_code="handover", language=language), channel)

        assert phrase in reminded.text
        assert phrase not in first.text


@pytest.mark.parametrize(
    ("language", "phrase"),
    [("nl", "geen volledige betaling ontvangen"), ("en", "not received full payment yet")],
)
def test_final_notice_holds_after_partial_payment(make_context, language: str, phrase: str) -> None:
    # A debtor who paid part of the amount must not read that nothing came in.
    for reminded_before in (True, False):
        for channel in ("email", "letter"):
            context = make_context(
                stage_code="final_notice", language=language, reminded_before=reminded_before,
                invoices=PARTLY_PAID_INVOICES,
            )

            assert phrase in render_message(context, channel).text


# 2026-0042 was 500.00, of which 75.00 is paid.
PARTLY_PAID_INVOICES = (
    dataclasses.replace(invoice("2026-0042", "425.00", dt.date(2026, 11, 1)), total=Decimal("500.00")),
    invoice("2026-0057", "1234.56", dt.date(2026, 11, 15)),
)

# Per stage and language: the text when part is paid, and the text when nothing is paid.
PAYMENT_PHRASES = {
    ("reminder", "nl"): ("Wij hebben uw betaling nog niet volledig ontvangen.", "Wij hebben nog geen betaling van u ontvangen."),
    ("reminder", "en"): ("We have not yet received your full payment.", "We have not yet received your payment."),
    ("second_reminder", "nl"): ("hieronder nog niet volledig ontvangen.", "hieronder nog niet ontvangen."),
    ("second_reminder", "en"): ("We have not yet received full payment of the", "We have not yet received payment of the"),
    ("final_notice", "nl"): ("nog geen volledige betaling ontvangen.", "nog geen betaling ontvangen."),
    ("final_notice", "en"): ("not received full payment yet.", "not received payment yet."),
}


@pytest.mark.parametrize(("stage", "language"), sorted(PAYMENT_PHRASES))
def test_full_payment_named_only_after_partial(make_context, stage: str, language: str) -> None:
    partial_phrase, unpaid_phrase = PAYMENT_PHRASES[stage, language]

    for channel in ("email", "letter"):
        partly_paid = plain(render_message(
            make_context(stage_code=stage, language=language, invoices=PARTLY_PAID_INVOICES), channel
        ).text)
        unpaid = plain(render_message(make_context(stage_code=stage, language=language), channel).text)

        assert partial_phrase in partly_paid, (channel, partly_paid)
        assert unpaid_phrase in unpaid, (channel, unpaid)
        assert "volledig" not in unpaid, (channel, unpaid)
        assert "full" not in unpaid, (channel, unpaid)


def test_vat_on_costs_is_named(make_context, claim) -> None:
    with_vat = dataclasses.replace(
        claim, costs=Decimal("301.21"), costs_vat=Decimal("52.28"),
        costs_if_unpaid=Decimal("301.21"), costs_if_unpaid_vat=Decimal("52.28"),
    )

    letter = render_message(make_context(stage_code="fourteen_day_letter", claim=with_vat), "letter")

    assert "€ 301,21 incassokosten in rekening, waarvan € 52,28 btw." in plain(letter.text)


@pytest.mark.parametrize(("language", "channel", "outside_service", "not_deductible"), [
    ("nl", "letter", "een externe dienst inschakelen die ons btw in rekening brengt", "niet kunnen aftrekken"),
    ("nl", "email", "een externe dienst inschakelen die ons btw in rekening brengt", "niet kunnen aftrekken"),
    ("en", "letter", "an outside collection service that charges us VAT", "we cannot deduct that VAT"),
    ("en", "email", "an outside collection service that charges us VAT", "we cannot deduct that VAT"),
])
def test_vat_on_costs_states_both_facts(
    make_context, claim, language: str, channel: str, outside_service: str, not_deductible: str
) -> None:
    with_vat = dataclasses.replace(
        claim, costs=Decimal("301.21"), costs_vat=Decimal("52.28"),
        costs_if_unpaid=Decimal("301.21"), costs_if_unpaid_vat=Decimal("52.28"),
    )
    context = make_context(stage_code="fourteen_day_letter", claim=with_vat, language=language)

    text = plain(render_message(context, channel).text)

    assert outside_service in text
    assert not_deductible in text


def test_costs_without_vat_no_statement(make_context, claim) -> None:
    letter = render_message(make_context(stage_code="fourteen_day_letter", claim=claim), "letter")

    assert "externe dienst" not in plain(letter.text)


def test_email_attaches_letter_when_asked(make_context) -> None:
    plain = render_message(make_context(stage_code="final_notice"), "email")
    attached = render_message(make_context(stage_code="final_notice", attach_letter=True), "email")

    assert plain.attachments == ()
    assert [attachment.mimetype for attachment in attached.attachments] == ["application/pdf"]
    assert attached.attachments[0].content.startswith(b"%PDF")


def test_creditor_override_wins(make_context, betaalreis_home: Path) -> None:
    write_override(
        betaalreis_home,
        "bakkerij-zoet",
        "reminder/email.nl.txt.j2",
        '{% extends "messages/layout/email.nl.txt.j2" %}'
        "{% block subject %}Eigen onderwerp {{ total_due|money }}{% endblock %}"
        "{% block intro %}Onze eigen tekst.{% endblock %}",
    )

    message = render_message(make_context(), "email")

    assert message.subject == "Eigen onderwerp € 1.659,56"
    assert "Onze eigen tekst." in message.text
    assert "Onze eigen tekst." in message.html


def test_override_of_other_creditor_is_ignored(make_context, betaalreis_home: Path) -> None:
    write_override(
        betaalreis_home, "someone-else", "reminder/email.nl.txt.j2",
        "{% block subject %}Fout{% endblock %}",
    )

    message = render_message(make_context(), "email")

    assert message.subject.startswith("Herinnering")


def test_override_of_shared_layout(make_context, betaalreis_home: Path) -> None:
    write_override(
        betaalreis_home, "bakkerij-zoet", "layout/email.nl.txt.j2",
        "Hallo {{ debtor.greeting_name }}!\n{% block intro %}{% endblock %}",
    )

    message = render_message(make_context(), "email")

    assert message.text.startswith("Hallo Zoë de Vries-Ëlberg!")


def test_edited_override_waits_for_block_end(make_context, betaalreis_home: Path) -> None:
    layout = '{% extends "messages/layout/email.nl.txt.j2" %}'
    name = "reminder/email.nl.txt.j2"
    write_override(betaalreis_home, "bakkerij-zoet", name, layout + "{% block subject %}Eerste{% endblock %}")

    with templates_unchanged():
        before = render_message(make_context(), "email")
        write_override(betaalreis_home, "bakkerij-zoet", name, layout + "{% block subject %}Tweede{% endblock %}")
        # A later modification time, so Jinja2's reload check detects the edit.
        path = betaalreis_home / "templates" / "bakkerij-zoet" / "messages" / name
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
        during = render_message(make_context(), "email")
    after = render_message(make_context(), "email")

    assert before.subject == "Eerste"
    assert during.subject == "Eerste"
    assert after.subject == "Tweede"


def test_missing_template_inside_unchanged_block(make_context) -> None:
    context = make_context(stage_code="extra_nudge", template="no_such_folder")

    with templates_unchanged():
        first = render_message(context, "email")
        second = render_message(context, "email")

    assert first.subject == second.subject
    assert first.subject.startswith("Herinnering")


def test_unknown_stage_uses_default(make_context) -> None:
    message = render_message(make_context(stage_code="extra_nudge", stage_name="Extra herinnering"), "email")

    assert message.subject == "Extra herinnering: € 1.659,56 nog niet betaald"


def test_stage_template_folder(make_context) -> None:
    message = render_message(make_context(stage_code="custom", template="final_notice"), "email")

    assert message.subject.startswith("Laatste aanmaning")


def test_unknown_language_falls_back_to_english(make_context) -> None:
    message = render_message(make_context(language="de"), "email")

    assert message.subject.startswith("Reminder")


@pytest.mark.parametrize(
    "source",
    [
        "{% block subject %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}",
        "{% block subject %}{{ creditor.__class__.__init__.__globals__ }}{% endblock %}",
        "{% block subject %}{% set found = [] %}{{ found.append(1) }}{% endblock %}",
        # format() stays sandboxed after the first call made str.format a known attribute.
        "{% block subject %}{{ '{0}'.format(1) }}{{ '{0.__class__}'.format(debtor) }}{% endblock %}",
    ],
)
def test_sandbox_rejects_unsafe_code(make_context, betaalreis_home: Path, source: str) -> None:
    write_override(betaalreis_home, "bakkerij-zoet", "reminder/email.nl.txt.j2", source)

    with pytest.raises(TemplateError) as raised:
        render_message(make_context(), "email")

    assert raised.value.code == "template_unsafe"


def test_unknown_variable_is_an_error(make_context, betaalreis_home: Path) -> None:
    write_override(
        betaalreis_home, "bakkerij-zoet", "reminder/email.nl.txt.j2",
        "{% block subject %}{{ debtor.password }}{% endblock %}",
    )

    with pytest.raises(TemplateError) as raised:
        render_message(make_context(), "email")

    assert raised.value.code == "template_render"
    assert "reminder/email.nl.txt.j2" in str(raised.value)


def test_syntax_error_names_file(make_context, betaalreis_home: Path) -> None:
    write_override(betaalreis_home, "bakkerij-zoet", "reminder/email.nl.txt.j2", "{% block subject %}{{ x ")

    with pytest.raises(TemplateError) as raised:
        render_message(make_context(), "email")

    assert raised.value.code == "template_syntax"
    assert "line 1" in str(raised.value)


def test_sms_is_gsm7_with_link(make_context) -> None:
    context = make_context(stage_code="friendly_reminder")

    message = render_message(context, "sms")

    assert message.recipient == "+31612345678"
    assert message.text.endswith(context.portal_url)
    assert "\n" not in message.text
    assert message.metadata["encoding"] == "GSM-7"
    assert message.metadata["segments"] == 2


def test_sms_uses_short_link(make_context) -> None:
    context = make_context(stage_code="friendly_reminder", short_url="https://bz.example/k7Q2")

    message = render_message(context, "sms")

    assert message.text.endswith("https://bz.example/k7Q2")
    assert message.metadata["segments"] == 1


def test_sms_replaces_non_gsm_name(make_context, creditor_info) -> None:
    creditor = dataclasses.replace(creditor_info, name="Café Zoë")

    message = render_message(make_context(creditor=creditor), "sms")

    assert message.text.startswith("Café Zoe:")
    assert message.metadata["encoding"] == "GSM-7"


def test_call_task(make_context) -> None:
    message = render_message(make_context(stage_code="call_task", stage_name="Telefonisch contact"), "phone")

    task = message.metadata["call_task"]
    assert task["phone_numbers"] == ["+31301234567", "+31612345678"]
    assert task["amount"] == "1659.56"
    assert plain(task["reason"]) == "Telefonisch contact: € 1.659,56 open, 33 dagen over de vervaldatum"
    assert [item["number"] for item in task["invoices"]] == ["2026-0042", "2026-0057"]
    assert task["script"][0].startswith("Goedendag")
    assert task["portal_url"] == make_context().portal_url


@pytest.mark.parametrize(
    ("language", "question", "next_line"),
    [("nl", "Weet u daarvan?", "Lukt het"), ("en", "Did you receive them?", "Would you be able")],
)
def test_call_script_one_suggestion_per_line(make_context, language: str, question: str, next_line: str) -> None:
    for reminded_before in (True, False):
        context = make_context(
            stage_code="call_task", stage_name="Telefonisch contact", language=language, reminded_before=reminded_before
        )

        script = render_message(context, "phone").metadata["call_task"]["script"]

        assert len(script) == 6, script
        assert script[3].startswith(next_line), script
        if reminded_before:
            assert script[2].endswith(question), script


@pytest.mark.parametrize(
    ("channel", "field"),
    [("email", "email"), ("sms", "mobile"), ("letter", "street"), ("whatsapp", "mobile")],
)
def test_missing_recipient(make_context, debtor_info, channel: str, field: str) -> None:
    debtor = dataclasses.replace(debtor_info, **{field: ""})

    with pytest.raises(InvalidInput) as raised:
        render_message(make_context(debtor=debtor), channel)

    assert raised.value.code == "missing_recipient"


def test_message_without_invoices(make_context) -> None:
    with pytest.raises(InvalidInput) as raised:
        render_message(make_context(invoices=(), total_due=Decimal("0.00")), "email")

    assert raised.value.code == "empty_message"


def test_unknown_channel(make_context) -> None:
    with pytest.raises(InvalidInput) as raised:
        render_message(make_context(), "pigeon")

    assert raised.value.code == "unknown_channel"


@pytest.mark.parametrize(("language", "phrase"), [
    ("nl", "Van uw betalingen van € 50,00 ging € 0,61 naar rente, omdat de wet (art. 6:44 BW)"),
    ("en", "Of your payments of €50.00, €0.61 went to interest, because the law (art. 6:44 Dutch Civil Code)"),
])
def test_fourteen_day_letter_says_paid_to_interest(make_context, language, phrase):
    claim = ClaimBreakdown(
        principal=Decimal("150.61"), interest=Decimal("0.90"), costs=Decimal("40.00"), total=Decimal("151.51"),
        partly_paid=True, paid=Decimal("50.00"), paid_to_interest=Decimal("0.61"),
    )
    unpaid = dataclasses.replace(claim, partly_paid=False, paid=Decimal("0.00"), paid_to_interest=Decimal("0.00"))

    for channel in ("letter", "email"):
        text = plain(render_message(
            make_context(stage_code="fourteen_day_letter", language=language, claim=claim), channel
        ).text)
        without = plain(render_message(
            make_context(stage_code="fourteen_day_letter", language=language, claim=unpaid), channel
        ).text)

        assert phrase in text, (channel, text)
        assert "6:44" not in without, channel


def test_blocks_share_context_without_leaks(make_context, betaalreis_home: Path) -> None:
    """A `{% set %}` in a block reaches no other block. A top-level one reaches the text, not the blocks behind the HTML."""
    write_override(
        betaalreis_home, "bakkerij-zoet", "reminder/email.nl.txt.j2",
        '{% extends "messages/layout/email.nl.txt.j2" %}{% set note = "top" %}'
        '{% block subject %}{% set note = "subject" %}Onderwerp {{ note }}{% endblock %}'
        "{% block intro %}Intro {{ note | default('geen') }}{% endblock %}"
        "{% block closing %}Slot {{ note | default('geen') }}{% endblock %}",
    )

    message = render_message(make_context(), "email")

    assert message.subject == "Onderwerp subject"
    assert "Intro top" in message.text
    assert "Slot top" in message.text
    assert "Intro geen" in message.html
    assert "Slot geen" in message.html


def test_template_blocks_match_render_block(make_context) -> None:
    from betaalreis.channels.render.message import template_variables
    from betaalreis.channels.render.templating import (
        MessageTemplate,
        TemplateBlocks,
        environment_for,
        find_template,
        render_block,
    )

    context = make_context(stage_code="final_notice")
    variables = template_variables(context)
    template = find_template(environment_for("bakkerij-zoet", html=False), "final_notice", "email", "nl", "txt")
    blocks = TemplateBlocks(template, variables)

    assert isinstance(template, MessageTemplate)
    for name in ("subject", "intro", "closing", "payment", "no_such_block"):
        assert blocks.render(name) == render_block(template, name, variables), name
    assert blocks.render("no_such_block") == ""


@pytest.mark.parametrize(
    ("language", "named", "unnamed", "pay_agency"),
    [
        ("nl", "incassobureau Incasso West B.V.", "een incassobureau", "niet meer aan ons"),
        ("en", "the collection agency Incasso West B.V.", "a collection agency", "not us"),
    ],
)
def test_handover_names_agency_and_payee(
    make_context, creditor_info, language: str, named: str, unnamed: str, pay_agency: str
) -> None:
    with_agency = dataclasses.replace(creditor_info, handover_agency="Incasso West B.V.")

    for channel in ("email", "letter", "sms", "whatsapp"):
        message = render_message(make_context(stage_code="handover", language=language, creditor=with_agency), channel)
        anonymous = render_message(make_context(stage_code="handover", language=language), channel)

        text = " ".join(message.text.split())
        assert named in text, channel
        assert unnamed in " ".join(anonymous.text.split()), channel
        assert pay_agency in text, channel
        assert creditor_info.iban not in text.replace(" ", ""), channel
        assert "betalingskenmerk" not in text.lower(), channel
        assert "payment reference" not in text.lower(), channel
