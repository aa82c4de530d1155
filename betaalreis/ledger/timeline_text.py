"""Show stored timeline summaries in the reader's language.

Writers store each summary in Dutch (`TimelineEvent.summary`), many of them
as raw rows from set-based code. `SUMMARIES` lists every summary shape they
write as a Dutch message id with named placeholders, and `PHRASES` the
pieces that stand in those placeholders. Both are marked for translation,
so the English is in the ledger's .po file. `summary_in_language` finds the
shape that matches a stored summary, translates it and puts the values back.
Amounts, dates and known labels (statuses, channels, default stage names,
and with a creditor id the stage names of that creditor's policies) are
shown in the reader's language, and other values (invoice numbers,
names, free text) as stored. A summary that matches no shape is shown as
stored. Rows stored before a shape was added need no migration, because
the translation happens when the summary is shown.

Shapes are tried in order, so a longer shape comes before a shorter one
that would also match it. A summary whose writer changes its Dutch text
without a new shape here is shown in Dutch. tests/test_timeline_text.py
checks the summaries that the demo, portal actions and a bank import write.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_noop as N_

from betaalreis.ledger.money import format_money

SUMMARIES: tuple[str, ...] = (
    # Payments and credit (ledger, banking, payments).
    N_("Betaling %(amount)s op factuur %(invoice)s (volledig betaald)"),
    N_("Betaling %(amount)s op factuur %(invoice)s"),
    N_("Betaling %(amount)s op incassokosten van factuur %(invoice)s"),
    N_("Betaling %(amount)s op rente van factuur %(invoice)s"),
    N_("Betaling %(amount)s ontvangen voor %(invoice)s"),
    N_("Teveel betaald: %(amount)s staat als tegoed open"),
    N_("Betaling teruggeboekt: %(amount)s op factuur %(invoice)s staat weer open"),
    N_("Creditnota %(credit_note)s verrekend met factuur %(invoice)s: %(amount)s"),
    N_("Verrekening creditnota %(credit_note)s teruggedraaid: %(amount)s op factuur %(invoice)s staat weer open"),
    N_("Creditnota %(credit_note)s zonder originele factuur: %(amount)s verrekend met %(invoices)s; "
       "%(credit)s blijft open als tegoed"),
    N_("Creditnota %(credit_note)s zonder originele factuur: %(amount)s verrekend met %(invoices)s"),
    N_("Creditnota %(credit_note)s (rest na de gecorrigeerde factuur): %(amount)s verrekend met %(invoices)s; "
       "%(credit)s blijft open als tegoed"),
    N_("Creditnota %(credit_note)s (rest na de gecorrigeerde factuur): %(amount)s verrekend met %(invoices)s"),
    N_("Tegoed %(amount)s van de betaling van %(date)s verrekend met %(invoices)s; %(credit)s tegoed over"),
    N_("Tegoed terugbetaald: %(amount)s op %(date)s; %(credit)s tegoed over (%(note)s)"),
    N_("Tegoed terugbetaald: %(amount)s op %(date)s; %(credit)s tegoed over"),
    N_("Terugboeking %(amount)s handmatig gekoppeld aan betaling van %(date)s"),
    N_("Betaling handmatig gekoppeld en rekening onthouden; geen open facturen, %(amount)s staat als tegoed open"),
    N_("Betaling handmatig gekoppeld; geen open facturen, %(amount)s staat als tegoed open"),
    N_("Betaling handmatig gekoppeld en rekening onthouden"),
    N_("Betaling handmatig gekoppeld"),
    N_("Betaling van %(amount)s van %(date)s genegeerd door %(user)s: %(reason)s"),
    N_("Aanmaningen gepauzeerd: betaling van %(amount)s wacht op beoordeling"),
    N_("Rekening %(iban)s onthouden: betaling herkend aan %(rule)s"),
    N_("Online betaling gestart: %(amount)s voor factuur %(invoices)s"),
    N_("Online betaling van %(amount)s voor factuur %(invoices)s, die al betaald was: "
       "het bedrag staat als tegoed open"),
    N_("Online betaling: %(amount)s meer betaald dan de vordering op de open facturen "
       "(hoofdsom, rente en incassokosten), geboekt als tegoed van de debiteur"),
    N_("Online betaling %(status)s: %(amount)s"),
    N_("Vervallen online betaling van %(amount)s ook bij %(provider)s geannuleerd"),
    N_("%(provider)s annuleerde de vervallen online betaling van %(amount)s niet; "
       "wordt die toch betaald, dan wordt het tegoed"),
    N_("Online betaling van %(amount)s vervallen, want factuur %(invoices)s is uit handen gegeven"),
    N_("Online betaling van %(amount)s vervallen, want factuur %(invoices)s is opgenomen in een betalingsregeling"),
    N_("Online betaling van %(amount)s vervallen, want factuur %(invoices)s is betwist"),
    N_("Online betaling van %(amount)s ontvangen voor factuur %(invoices)s, die uit handen gegeven is: "
       "meld de betaling aan het incassobureau"),
    # Invoices (ledger, imports, dunning).
    N_("Factuur %(invoice)s: %(from)s → %(to)s"),
    N_("Factuur %(invoice)s handmatig toegevoegd: %(amounts)s"),
    N_("Creditnota %(invoice)s handmatig toegevoegd: %(amounts)s"),
    N_("Factuur %(invoice)s handmatig gewijzigd: %(changes)s"),
    N_("Factuur %(invoice)s is in de boekhouding geannuleerd: afgeboekt (was %(amount)s open)"),
    N_("Factuur %(invoice)s staat niet meer in de openstaande posten: voldaan buiten Betaalreis (was %(amount)s open)"),
    N_("Factuur %(invoice)s gewijzigd door import: %(changes)s"),
    N_("Factuur %(invoice)s gewijzigd door import"),
    N_("Creditnota %(invoice)s gewijzigd door import: %(changes)s"),
    N_("Creditnota %(invoice)s gewijzigd door import"),
    N_("1 factuur geïmporteerd (%(invoices)s), openstaand %(amounts)s"),
    N_("%(count)s facturen geïmporteerd (%(invoices)s en %(more)s meer), openstaand %(amounts)s"),
    N_("%(count)s facturen geïmporteerd (%(invoices)s), openstaand %(amounts)s"),
    N_("Gegevens bijgewerkt uit import: %(fields)s"),
    N_("Factuur %(invoice)s gesloten met onbetaalde %(charges)s: niet meer gevorderd (kwijtgescholden)"),
    N_("Factuur %(invoice)s vrijgegeven ondanks mogelijke verjaring: %(reason)s"),
    N_("Vrijgave van factuur %(invoice)s bij mogelijke verjaring ingetrokken"),
    N_("Factuur %(invoice)s uit bericht gehaald: %(reason)s sinds de planning"),
    N_("Factuur %(invoice)s gedownload"),
    # Dunning and messages (dunning, outbox, channels).
    N_("Fase %(stage)s van factuur %(invoice)s teruggezet naar %(to)s: het bericht is niet verzonden (%(reason)s). "
       "De volgende run plant de fase opnieuw."),
    N_("Veertiendagentermijn: %(amount)s gevraagd, ontvangst vermoed op %(received)s, "
       "termijn %(start)s t/m %(end)s; %(costs)s"),
    N_("%(stage)s gepland per %(channel)s: %(invoices)s, %(amount)s"),
    N_("%(stage)s tegengehouden tot %(moment)s: %(reason)s"),
    N_("%(channel)s verzonden (%(stage)s): %(amount)s"),
    N_("%(channel)s (%(stage)s) niet verzonden: alle facturen zijn betaald of gesloten"),
    N_("%(channel)s (%(stage)s) mislukt: %(error)s"),
    N_("%(channel)s mislukt en er is geen ander kanaal voor fase %(stage)s"),
    N_("%(channel)s mislukt; fase %(stage)s gaat nu per %(next)s"),
    N_("%(channel)s (%(stage)s) opnieuw te versturen, op verzoek van %(user)s"),
    N_("%(channel)s (%(stage)s) vervallen: het mislukte bericht op een ander kanaal wordt opnieuw verstuurd, "
       "op verzoek van %(user)s"),
    N_("Reactie ontvangen per %(channel)s"),
    N_("Afgemeld voor %(channel)s"),
    N_("Toestemming gegeven voor %(channel)s"),
    N_("%(channel)sadres onbereikbaar: %(reason)s"),
    # Payment plans, promises, disputes and the portal (payments, portal).
    N_("Herinnering termijn %(number)s van %(terms)s gepland per %(channel)s: %(amount)s, vervaldatum %(date)s"),
    N_("Herinnering termijn %(number)s tegengehouden tot %(moment)s: %(reason)s"),
    # The plan request names what stays outside the plan, with "vervalt" for one amount and
    # "vervallen" for more.
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; direct goedgekeurd. "
       "Buiten de regeling: %(excluded)s, die vervalt als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; direct goedgekeurd. "
       "Buiten de regeling: %(excluded)s, die vervallen als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling, want %(reason)s. "
       "Buiten de regeling: %(excluded)s, die vervalt als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling, want %(reason)s. "
       "Buiten de regeling: %(excluded)s, die vervallen als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling. "
       "Buiten de regeling: %(excluded)s, die vervallen als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; direct goedgekeurd. "
       "Rente %(interest)s en incassokosten %(costs)s vallen erbuiten en vervallen als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling. "
       "Rente %(interest)s en incassokosten %(costs)s vallen erbuiten en vervallen als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling, want %(reason)s. "
       "Rente %(interest)s en incassokosten %(costs)s vallen erbuiten en vervallen als de regeling wordt nagekomen"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling, want %(reason)s"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; direct goedgekeurd"),
    N_("Betalingsregeling aangevraagd: %(amount)s in %(terms)s termijnen; ter beoordeling"),
    N_("Betalingsregeling goedgekeurd"),
    N_("Betalingsregeling afgewezen"),
    N_("Betalingsregeling volledig betaald; kwijtgescholden zoals bij de regeling vermeld: %(excluded)s"),
    N_("Betalingsregeling volledig betaald. Rente %(interest)s en incassokosten %(costs)s kwijtgescholden, "
       "zoals bij de regeling vermeld"),
    N_("Betalingsregeling volledig betaald"),
    N_("Termijn %(number)s van de betalingsregeling niet betaald; aanmanen hervat"),
    N_("Betaalbelofte: %(amount)s uiterlijk %(date)s; aanmanen gepauzeerd"),
    N_("Betaalbelofte van %(date)s niet nagekomen; aanmanen hervat"),
    N_("Betaalbelofte van %(date)s nagekomen"),
    N_("Geschil over factuur %(invoice)s afgehandeld"),
    N_("Geschil over factuur %(invoice)s: %(reason)s"),
    N_("Contactvoorkeuren gewijzigd: %(changes)s"),
    N_("Let op: afgemeld voor alle kanalen. Aanmaningen gaan alleen nog per brief; "
       "neem zo nodig contact op over de openstaande facturen."),
    N_("Betaalpagina geopend"),
    N_("Rekeningoverzicht gedownload"),
    N_("Ingelogd op het portaal met code via %(channel)s"),
    N_("Debiteur aangemaakt door de demo"),
    # Delivery reports name a channel and a status, with the stage and the provider's detail when known.
    N_("%(channel)s %(status)s (%(stage)s): %(detail)s"),
    N_("%(channel)s %(status)s (%(stage)s)"),
    N_("%(channel)s %(status)s: %(detail)s"),
    N_("%(channel)s %(status)s"),
)

# Reasons that a payment plan waits for a credit manager, stored in
# PaymentPlan.outside_limits_reason and in the plan's timeline summary. A
# reason names every limit the plan breaks. The texts around it already say
# that a credit manager decides, so the reason does not repeat it.
TOO_MANY_TERMS = N_("%(terms)s termijnen is meer dan het maximum van %(maximum)s")
INSTALMENT_TOO_SMALL = N_("een termijnbedrag van %(instalment)s is minder dan het minimum van %(minimum)s")
TOO_MANY_TERMS_AND_INSTALMENT_TOO_SMALL = N_(
    "%(terms)s termijnen is meer dan het maximum van %(maximum)s en een termijnbedrag van %(instalment)s "
    "is minder dan het minimum van %(minimum)s"
)
# The reasons as plans stored them before, each naming one limit. They stay
# here so that those plans and their timeline rows are still translated.
LEGACY_PLAN_REASONS = (
    N_("%(terms)s termijnen is meer dan het maximum van %(maximum)s termijnen, dus een medewerker moet de "
       "regeling goedkeuren"),
    N_("elke termijn wordt %(instalment)s, minder dan het minimale termijnbedrag van %(minimum)s, dus een "
       "medewerker moet de regeling goedkeuren"),
)
# The error of a letter whose font lacks characters of the debtor's name
# or address. The timeline stores it as the failed letter's error, so it
# is Dutch like the rest of the timeline.
UNPRINTABLE_LETTERS = N_(
    "Het lettertype van de brief heeft de tekens %(letters)s uit de naam of het adres niet. Zet "
    "BETAALREIS_LETTER_FONT en BETAALREIS_LETTER_FONT_BOLD op een TrueType-lettertype met die tekens, "
    "of schrijf de naam in Latijnse letters."
)
# The error of a consumer's 14-day letter planned on a channel other than
# post when the debtor has no agreement to electronic communication, for
# example because the debtor withdrew it after the run planned the message.
FOURTEEN_DAY_LETTER_NEEDS_POST = N_(
    "De veertiendagenbrief gaat per post, want de debiteur is niet akkoord met elektronische communicatie."
)
# The error of a message that waited in the outbox on a channel the debtor
# opted out of after the run planned it.
OPTED_OUT_SINCE_PLANNED = N_("De debiteur heeft zich na het plannen afgemeld voor dit kanaal.")

# Pieces that stand in a summary's placeholder, alone or in a list.
PHRASES: tuple[str, ...] = (
    # A legacy reason also fits the shorter TOO_MANY_TERMS, so it is tried first.
    *LEGACY_PLAN_REASONS,
    TOO_MANY_TERMS_AND_INSTALMENT_TOO_SMALL,
    TOO_MANY_TERMS,
    INSTALMENT_TOO_SMALL,
    UNPRINTABLE_LETTERS,
    FOURTEEN_DAY_LETTER_NEEDS_POST,
    OPTED_OUT_SINCE_PLANNED,
    N_("incassokosten verschuldigd vanaf %(date)s bij niet betalen"),
    N_("geen incassokosten of rente berekend, want die worden alleen in euro berekend (vordering in %(currency)s)"),
    N_("totaal %(from)s → %(to)s"),
    N_("openstaand %(from)s → %(to)s"),
    N_("totaal %(amount)s"),
    N_("openstaand %(amount)s"),
    N_("weer open"),
    N_("incassokosten %(amount)s"),
    N_("rente %(amount)s"),
    N_("hoofdsom %(amount)s door eerdere betalingen op rente of kosten (art. 6:44 BW)"),
    N_("1 factuur"),
    N_("%(count)s facturen"),
    N_("geen fase"),
    N_("e-mailadres %(from)s → %(to)s"),
    N_("mobiel nummer %(from)s → %(to)s"),
    N_("taal %(from)s → %(to)s"),
    N_("voorkeurskanaal %(from)s → %(to)s"),
    N_("afgemelde kanalen %(from)s → %(to)s"),
)

# Values that writers store in Dutch, for the ledger catalog to translate. A value that
# another catalog translates otherwise stays out, because the first catalog in
# INSTALLED_APPS wins for every app ("sms" and "geannuleerd" are found capitalised).
LABELS: tuple[str, ...] = (
    # Channels, as consent, delivery and planning name them, and sign-in code kinds.
    N_("e-mail"), N_("Sms"), N_("brief"), N_("telefoon"), N_("Telefoon"), N_("belopdracht"),
    N_("email"), N_("phone"),
    # Invoice statuses and online payment statuses, in lower case.
    N_("openstaand"), N_("betaald"), N_("gecrediteerd"), N_("betwist"), N_("in betalingsregeling"),
    N_("uit handen gegeven"), N_("afgeboekt"), N_("aangemaakt"), N_("in behandeling"), N_("geautoriseerd"),
    N_("mislukt"), N_("verlopen"), N_("terugbetaald"), N_("teruggeboekt (chargeback)"),
    # Match rules, in lower case.
    N_("terugboeking"), N_("betalingskenmerk"), N_("factuurnummer"), N_("factuurnummer met typfout"),
    N_("bekende iban"), N_("naam betaler"), N_("handmatig"),
    # Delivery statuses.
    N_("in wachtrij bij provider"), N_("verzonden"), N_("vertraagd, provider probeert opnieuw"), N_("afgeleverd"),
    N_("geopend"), N_("gelezen"), N_("link aangeklikt"), N_("niet afgeleverd"), N_("gebounced"),
    N_("geweigerd door provider"), N_("als spam gemeld"), N_("afgemeld via de provider"),
    # Reasons a message was held.
    N_("buiten de contacturen"), N_("zondag"), N_("feestdag"), N_("maximum aantal contacten deze week bereikt"),
    N_("al een bericht op die dag"),
    # Contact preferences the portal names.
    N_("e-mailadres"), N_("mobiel nummer"), N_("taal"), N_("voorkeurskanaal"), N_("afgemelde kanalen"), N_("(leeg)"),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_DUTCH_MONEY = re.compile(r"(?P<symbol>€|[A-Z]{3})\xa0(?P<number>-?\d{1,3}(?:\.\d{3})*,\d{2,})")
_DUTCH_DATE = re.compile(r"(\d{2})-(\d{2})-(\d{4})")
_DUTCH_MOMENT = re.compile(r"(\d{2})-(\d{2})-(\d{4}) (\d{2}:\d{2})")
_LIST_SEPARATORS = (("; ", "; "), (", ", ", "), (" en ", " and "))


# A summary's placeholder takes any text. A phrase's placeholder stops at "; " and " en ",
# so "incassokosten € 5,00 en rente € 1,00" is read as a list of two phrases.
_SUMMARY_VALUE = r".+?"
_PHRASE_VALUE = r"(?:(?!; | en ).)+?"


def _pattern(message_id: str, value: str) -> re.Pattern[str]:
    """Compile a message id into a pattern that matches a whole text and captures each placeholder."""
    parts = _PLACEHOLDER.split(message_id)
    pattern = ""
    for index, part in enumerate(parts):
        # split() alternates literal text and placeholder names.
        pattern += re.escape(part) if index % 2 == 0 else f"(?P<{part}>{value})"
    return re.compile(pattern, re.DOTALL)


def _literal_length(message_id: str) -> int:
    return len(_PLACEHOLDER.sub("", message_id))


# A summary can fit two shapes, as "Herinnering termijn 1 van 6 gepland per e-mail: € 33,33, vervaldatum
# 05-12-2026" fits "%(stage)s gepland per %(channel)s: %(invoices)s, %(amount)s". The shape with the most
# fixed text is the more specific one, so it is tried first.
_SUMMARY_PATTERNS = tuple(
    (message_id, _pattern(message_id, _SUMMARY_VALUE))
    for message_id in sorted(SUMMARIES, key=_literal_length, reverse=True)
)
_PHRASE_PATTERNS = tuple((message_id, _pattern(message_id, _PHRASE_VALUE)) for message_id in PHRASES)


def summary_in_language(
    summary: str, data: dict[str, Any] | None = None, language: str | None = None, *, creditor_id: int | None = None,
) -> str:
    """Return a stored Dutch summary in `language`, by default the active one.

    An event whose writer stored its own English (`data["summary_en"]`)
    shows that in English. With `creditor_id`, a stage name of that
    creditor's own policies is shown by its English name, or by its Dutch
    name when the stage has none.
    """
    language = language or translation.get_language() or "nl"
    if not language.startswith("en"):
        return summary
    if data and data.get("summary_en"):
        return str(data["summary_en"])

    stages = _CreditorStageNames(creditor_id)
    with translation.override(language):
        translated = _translate_shape(summary, _SUMMARY_PATTERNS, stages)
    return summary if translated is None else translated


def phrase_in_language(text: str, language: str | None = None) -> str:
    """Return a stored Dutch phrase (one of `PHRASES`) in `language`, by default the active one.

    A text that matches no phrase is returned as stored.
    """
    language = language or translation.get_language() or "nl"
    if not language.startswith("en"):
        return text
    with translation.override(language):
        translated = _translate_shape(text, _PHRASE_PATTERNS)
    return text if translated is None else translated


def has_shape(summary: str) -> bool:
    """Return whether a stored summary matches one of `SUMMARIES`."""
    return any(pattern.fullmatch(summary) for _, pattern in _SUMMARY_PATTERNS)


class _CreditorStageNames:
    """The English name of each stage of one creditor's policies, by Dutch name, read from the database on first use."""

    def __init__(self, creditor_id: int | None) -> None:
        self.creditor_id = creditor_id
        self._names: dict[str, str] | None = None

    def get(self, dutch_name: str) -> str | None:
        if self.creditor_id is None:
            return None
        if self._names is None:
            from betaalreis.dunning.models import Stage

            stages = Stage.objects.filter(policy__creditor_id=self.creditor_id).values_list("name_nl", "name_en")
            self._names = {name_nl: name_en or name_nl for name_nl, name_en in stages}
        return self._names.get(dutch_name)


_NO_CREDITOR = _CreditorStageNames(None)


def _translate_shape(
    text: str, patterns: tuple[tuple[str, re.Pattern[str]], ...], stages: _CreditorStageNames = _NO_CREDITOR,
) -> str | None:
    for message_id, pattern in patterns:
        match = pattern.fullmatch(text)
        if match is not None:
            values = {name: _translate_value(value, stages) for name, value in match.groupdict().items()}
            return translation.gettext(message_id) % values
    return None


def _translate_value(value: str, stages: _CreditorStageNames = _NO_CREDITOR) -> str:
    """Return a placeholder's value in the active language, or as stored when it is not a known kind of value.

    A stage name of the creditor's own policies comes before the catalogs,
    because the creditor may name a stage "Herinnering" and give it another
    English name than the default policy's.
    """
    money = _DUTCH_MONEY.fullmatch(value)
    if money is not None:
        return _english_money(money)
    moment = _DUTCH_MOMENT.fullmatch(value)
    if moment is not None:
        day, month, year, clock = moment.groups()
        return f"{year}-{month}-{day} {clock}"
    date = _DUTCH_DATE.fullmatch(value)
    if date is not None:
        day, month, year = date.groups()
        return f"{year}-{month}-{day}"

    own_stage = stages.get(value)
    if own_stage is not None:
        return own_stage
    translated = translation.gettext(value)
    if translated != value:
        return translated
    # Writers lower-case status and channel labels, such as "geannuleerd" for "Geannuleerd".
    capitalised = value[:1].upper() + value[1:]
    translated = translation.gettext(capitalised)
    if translated != capitalised:
        return translated[:1].lower() + translated[1:] if translated[1:2].islower() else translated
    stage = default_stage_names().get(value)
    if stage is not None:
        return stage
    phrase = _translate_shape(value, _PHRASE_PATTERNS, stages)
    if phrase is not None:
        return phrase
    for separator, english_separator in _LIST_SEPARATORS:
        if separator in value:
            return english_separator.join(_translate_value(item, stages) for item in value.split(separator))
    return value


def _english_money(match: re.Match[str]) -> str:
    symbol, number = match.group("symbol"), match.group("number")
    try:
        amount = Decimal(number.replace(".", "").replace(",", "."))
    except InvalidOperation:
        return match.group(0)
    return format_money(amount, "EUR" if symbol == "€" else symbol, "en")


@lru_cache(maxsize=1)
def default_stage_names() -> dict[str, str]:
    """Return the English name of each stage of the default policies, by its Dutch name.

    A summary read with a `creditor_id` finds the stages of that creditor's
    own policies first (see `_CreditorStageNames`).
    """
    from betaalreis.dunning.policies import DEFAULT_POLICY_FILES

    names: dict[str, str] = {}
    for path in DEFAULT_POLICY_FILES.values():
        for stage in tomllib.loads(path.read_text(encoding="utf-8")).get("stages", []):
            names[stage["name_nl"]] = stage["name_en"]
    return names
