"""`betaalreis run`: the daily dunning job."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from betaalreis.command_language import TranslatedHelpCommand, add_language_option, report_language
from betaalreis.dunning.planner import CHANNEL_NAMES
from betaalreis.dunning.run import (
    AMSTERDAM,
    CreditorRun,
    RunSummary,
    WaitingMessages,
    amsterdam_today,
    is_future_day,
    run_cycle,
)
from betaalreis.dunning.stage_names import stage_names_by_code
from betaalreis.imports.values import nonexistent_iso_date_error
from betaalreis.ledger.models import Creditor, Debtor, opted_out_of_every_channel
from betaalreis.ledger.money import format_money
from betaalreis.ledger.timeline_text import phrase_in_language
from betaalreis.outbox.dispatch import DispatchSummary
from betaalreis.outbox.failure_text import describe_send_error


def parse_day(value: str) -> dt.date:
    """Parse the --date option, or raise a CommandError in the report language."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass

    nonexistent_date_error = nonexistent_iso_date_error(value, "--date")
    if nonexistent_date_error is not None:
        raise CommandError(nonexistent_date_error)
    raise CommandError(
        _("Ongeldige datum %(value)r bij --date: gebruik JJJJ-MM-DD, bijvoorbeeld 2026-12-04.") % {"value": value}
    )


class Command(TranslatedHelpCommand):
    help = _lazy(
        "Voer de dagelijkse run uit: verwerk betalingen, plan de aanmaningsfasen die aan de beurt zijn, "
        "vul de berichtenmap en verstuur de berichten."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            # Parsed in handle(), so that a malformed date is reported in the --lang language.
            "--date",
            metavar=_lazy("JJJJ-MM-DD"),
            help=_lazy(
                "Werkdag waarvoor de run draait, JJJJ-MM-DD, vandaag of eerder "
                "(standaard: vandaag in Europe/Amsterdam)."
            ),
        )
        parser.add_argument(
            "--creditor", help=_lazy("Korte naam (slug) van één crediteur (standaard: alle crediteuren).")
        )
        parser.add_argument(
            "--no-dispatch", action="store_true", help=_lazy("Vul de berichtenmap maar verstuur niets.")
        )
        parser.add_argument(
            "--simulate",
            action="store_true",
            help=_lazy(
                "Verstuur alleen via de bestandsadapters, nooit via SMTP, sms of andere providers, en sta "
                "een --date na vandaag toe. De run zet de aanmaningsfasen van de facturen wel verder, "
                "dus dit kan alleen voor de democrediteuren, tenzij BETAALREIS_ALLOW_SIMULATE=1 is gezet."
            ),
        )
        add_language_option(parser)

    def handle(self, *args: object, **options: object) -> None:
        with translation.override(report_language(options["lang"])):
            self._run(options)

    def _run(self, options: dict[str, object]) -> None:
        day = amsterdam_today() if options["date"] is None else parse_day(options["date"])
        if options["simulate"] and options["no_dispatch"]:
            raise CommandError(_(
                "--simulate en --no-dispatch gaan niet samen: een gesimuleerde run verstuurt naar de "
                "berichtenmap, terwijl --no-dispatch de berichten laat wachten op de volgende echte "
                "verzending. Laat een van beide weg."
            ))
        if options["simulate"] and settings.PRODUCTION:
            raise CommandError(_(
                "--simulate is niet toegestaan met BETAALREIS_PRODUCTION=1: een gesimuleerde run zet de "
                "facturen in hun volgende aanmaningsfase. Gebruik het alleen op een demo- of testdatabase."
            ))
        if is_future_day(day) and not options["simulate"]:
            raise CommandError(_(
                "Datum %(day)s ligt na vandaag (%(today)s, Europe/Amsterdam). Een run verstuurt zijn "
                "berichten meteen, gedateerd op die dag en met kosten die dan nog niet verschuldigd zijn. "
                "Kies vandaag of een eerdere dag. Gebruik --simulate alleen op een demo- of testdatabase: "
                "dan gaan de berichten alleen naar de berichtenmap."
            ) % {"day": day.isoformat(), "today": amsterdam_today().isoformat()})
        creditor = find_creditor(options["creditor"]) if options["creditor"] else None
        if options["simulate"]:
            _check_simulation_allowed(creditor)

        summary = run_cycle(
            day, creditor, dispatch_messages=not options["no_dispatch"], simulate=options["simulate"]
        )
        print_summary(summary, Console(file=self.stdout, width=110))
        if summary.failed_creditors:
            # A non-zero exit, so that cron or a scheduler alerts the operator.
            raise CommandError(ngettext(
                "De run is mislukt voor %(count)d crediteur: %(slugs)s. Zie de regel 'run mislukt' hierboven.",
                "De run is mislukt voor %(count)d crediteuren: %(slugs)s. Zie de regels 'run mislukt' hierboven.",
                len(summary.failed_creditors),
            ) % {
                "count": len(summary.failed_creditors),
                "slugs": ", ".join(failure.creditor.slug for failure in summary.failed_creditors),
            })
        if summary.dispatched is not None and summary.dispatched.outages:
            # A non-zero exit, so that cron or a scheduler alerts the operator.
            raise CommandError(_(
                "Een kanaal kon niets versturen; zie de regels 'kon niets versturen' hierboven."
            ))


def find_creditor(slug: str) -> Creditor:
    """Return the creditor with `slug`, or raise a CommandError in the report language that names the known slugs."""
    creditor = Creditor.objects.filter(slug=slug).first()
    if creditor is not None:
        return creditor
    known = ", ".join(Creditor.objects.values_list("slug", flat=True)) or _("nog geen")
    raise CommandError(
        _(
            "Crediteur %(slug)r niet gevonden. Bekende crediteuren: %(known)s. "
            "Voeg er een toe met `betaalreis creditor add`."
        ) % {"slug": slug, "known": known}
    )


def _check_simulation_allowed(creditor: Creditor | None) -> None:
    """Raise CommandError when a simulated run would move on the stages of a creditor with real data.

    Only the demo's creditors are known to hold made-up data; for any other
    creditor BETAALREIS_ALLOW_SIMULATE=1 must be set.
    """
    if settings.ALLOW_SIMULATE:
        return

    # Imported here: the demo generator loads Faker, which a normal run does not need.
    from betaalreis.demo.generator import DEMO_SLUGS

    creditors = Creditor.objects.filter(pk=creditor.pk) if creditor else Creditor.objects.all()
    real = sorted(creditors.exclude(slug__in=DEMO_SLUGS).values_list("slug", flat=True))
    if real:
        raise CommandError(_(
            "--simulate draait alleen voor de demo-crediteuren, want het zet de aanmaningsfasen van "
            "echte facturen vooruit. Dit zou %(slugs)s raken. Bevat deze database geen echte gegevens, "
            "zet dan BETAALREIS_ALLOW_SIMULATE=1."
        ) % {"slugs": ", ".join(real)})


def print_summary(summary: RunSummary, console: Console) -> None:
    """Print what a run did, per creditor and per channel and stage."""
    console.print("[bold]" + _("Betaalreis-run van %(day)s") % {"day": summary.day.isoformat()} + "[/bold]")
    for failure in summary.failed_creditors:
        console.print(_(
            "%(creditor)s: run mislukt, niets gepland en eerdere stappen van deze run teruggedraaid: "
            "%(error)s. De andere crediteuren zijn wel verwerkt. De traceback staat in het log "
            "('creditor run failed'); los de fout op en draai de run opnieuw met --creditor %(creditor)s."
        ) % {"creditor": failure.creditor.slug, "error": failure.error}, markup=False)
    for creditor_run in summary.creditors:
        console.print(_creditor_line(creditor_run), markup=False)
        if creditor_run.waited_for_other_run:
            console.print("  " + _(
                "wachtte tot een andere run voor deze crediteur klaar was; deze run plande daarna alleen wat "
                "nog openstond"
            ), markup=False)
        _print_unreachable(creditor_run, console)
        _print_held_second_messages(creditor_run, console)
        _print_waiting_reminders(creditor_run, console)
        _print_paused_for_review(creditor_run, console)
        _print_invoices_without_claim(creditor_run, console)
        _print_opted_out_of_every_channel(creditor_run, console)
        _print_limitation_holds(creditor_run, console)
        _print_manual_tasks(creditor_run, console)
        _print_handovers(creditor_run, console)
        print_waiting_messages(creditor_run.waiting, console)

    if summary.dispatched is not None and summary.dispatched.total("fallback"):
        fallback = summary.dispatched.total("fallback")
        console.print(ngettext(
            "%(count)d bericht via een ander kanaal gepland omdat verzenden mislukte",
            "%(count)d berichten via een ander kanaal gepland omdat verzenden mislukte",
            fallback,
        ) % {"count": fallback})

    outcomes = DISPATCH_OUTCOMES
    headings = {"planned": _("gepland"), **table_headings()}
    table = Table(title=_("Berichten per kanaal en fase"))
    for column in ("channel", "stage", "planned", *outcomes):
        table.add_column(headings[column], justify="right" if column not in ("channel", "stage") else "left")
    planned = summary.planned_counts()
    dispatched = summary.dispatched.counts if summary.dispatched else {}
    keys = sorted(set(planned) | {(channel, stage) for channel, stage, _ in dispatched})
    stage_names = stage_names_of(summary)
    for channel, stage in keys:
        table.add_row(
            str(CHANNEL_NAMES.get(channel, channel)),
            stage_names.get(stage, stage),
            str(planned.get((channel, stage), 0)),
            *(str(dispatched.get((channel, stage, outcome), 0)) for outcome in outcomes),
        )
    console.print(table)
    if summary.dispatched is not None:
        print_failures(summary.dispatched, stage_names, console)
        print_dispatch_notes(summary.dispatched, console)


# The dispatch outcomes that the summary table counts, in the order of its columns.
DISPATCH_OUTCOMES = ("fallback", "sent", "cancelled", "failed", "retry")


def table_headings() -> dict[str, str]:
    """Return the headings of the columns channel, stage and the `DISPATCH_OUTCOMES`, in the report language."""
    return {
        "channel": _("kanaal"),
        "stage": _("fase"),
        "fallback": _("ander kanaal"),
        "sent": _("verzonden"),
        "cancelled": _("vervallen"),
        "failed": _("mislukt"),
        "retry": _("opnieuw"),
    }


def stage_names_of(summary: RunSummary) -> dict[str, str]:
    """Return the name of each stage code of the run's creditors, in the report language."""
    return stage_names_by_code(creditor_run.creditor for creditor_run in summary.creditors)


def print_failures(dispatched: DispatchSummary, stage_names: dict[str, str], console: Console) -> None:
    """Print one line per channel, stage and reason of the messages that failed for good, naming their debtors."""
    for (channel, stage, reason), debtor_ids in sorted(dispatched.failures.items()):
        channel_name = str(CHANNEL_NAMES.get(channel, channel))
        console.print("  " + _("%(channel)s (%(stage)s) mislukt voor %(debtors)s: %(reason)s") % {
            "channel": channel_name[:1].upper() + channel_name[1:],
            "stage": stage_names.get(stage, stage),
            "reason": describe_send_error(reason),
            "debtors": _name_debtors(sorted(set(debtor_ids))),
        }, markup=False)


def print_dispatch_notes(dispatched: DispatchSummary, console: Console) -> None:
    """Print the claim notices of the sent messages in the report language, and the reverted stages."""
    english_report = translation.get_language() == "en"
    for dutch, english in dispatched.claim_notices:
        console.print(f"  note: {english}" if english_report else f"  let op: {dutch}", markup=False)
    if dispatched.unconfirmed_rates:
        rates = "; ".join(
            _describe_rate(kind, first, last, percent, count)
            for (kind, first, last, percent), count in sorted(dispatched.unconfirmed_rates.items())
        )
        console.print("  " + _(
            "let op: vorderingen in deze run gebruiken een rente die geen officiële bron bevestigt: %(rates)s. "
            "Controleer het tarief en werk zo nodig betaalreis/legal/data/statutory_rates.toml bij; de berichten "
            "aan debiteuren noemen dit niet."
        ) % {"rates": rates}, markup=False)
    if dispatched.stages_reverted:
        console.print("  " + ngettext(
            "%(count)d factuur terug naar de vorige fase omdat het bericht mislukte; de volgende run "
            "plant die fase opnieuw (zie de tijdlijn van de debiteur).",
            "%(count)d facturen terug naar hun vorige fase omdat hun bericht mislukte; de volgende run "
            "plant die fase opnieuw (zie de tijdlijn van de debiteur).",
            dispatched.stages_reverted,
        ) % {"count": dispatched.stages_reverted})
    if dispatched.held_by_lease:
        console.print("  " + _held_by_lease_note(dispatched), markup=False)
    if dispatched.taken_over:
        console.print("  " + ngettext(
            "let op: %(count)d bericht overgenomen van een verzending waarvan de lease verlopen was "
            "(BETAALREIS_DISPATCH_LEASE_SECONDS).",
            "let op: %(count)d berichten overgenomen van een verzending waarvan de lease verlopen was "
            "(BETAALREIS_DISPATCH_LEASE_SECONDS).",
            dispatched.taken_over,
        ) % {"count": dispatched.taken_over}, markup=False)
    if dispatched.lost_to_other_dispatcher:
        console.print("  " + ngettext(
            "let op: %(count)d bericht van deze verzending is door een andere verzending overgenomen en "
            "wordt daar geteld, niet in deze tabel.",
            "let op: %(count)d berichten van deze verzending zijn door een andere verzending overgenomen en "
            "worden daar geteld, niet in deze tabel.",
            dispatched.lost_to_other_dispatcher,
        ) % {"count": dispatched.lost_to_other_dispatcher}, markup=False)
    _print_outages(dispatched, console)


def _print_outages(dispatched: DispatchSummary, console: Console) -> None:
    """Print one line per channel and creditor that could send nothing more, with the error and what happens next."""
    slugs = dict(Creditor.objects.filter(
        pk__in={creditor_id for _, creditor_id in dispatched.outages}
    ).values_list("pk", "slug"))
    for (channel, creditor_id), error in sorted(dispatched.outages.items()):
        channel_name = str(CHANNEL_NAMES.get(channel, channel))
        waiting = dispatched.outage_waiting[(channel, creditor_id)]
        console.print("  " + ngettext(
            "%(channel)s voor %(creditor)s kon niets versturen: %(reason)s %(count)d bericht wacht en gaat "
            "opnieuw zodra dit is opgelost; na %(days)s dagen met alleen fouten gaat een bericht via het "
            "volgende kanaal van de fase (BETAALREIS_DISPATCH_GIVE_UP_DAYS).",
            "%(channel)s voor %(creditor)s kon niets versturen: %(reason)s %(count)d berichten wachten en gaan "
            "opnieuw zodra dit is opgelost; na %(days)s dagen met alleen fouten gaat een bericht via het "
            "volgende kanaal van de fase (BETAALREIS_DISPATCH_GIVE_UP_DAYS).",
            waiting,
        ) % {
            "channel": channel_name[:1].upper() + channel_name[1:],
            "creditor": slugs.get(creditor_id, creditor_id),
            "reason": describe_send_error(error).rstrip(".") + ".",
            "count": waiting,
            "days": f"{settings.BETAALREIS_DISPATCH_GIVE_UP_DAYS:g}",
        }, markup=False)


def _held_by_lease_note(dispatched: DispatchSummary) -> str:
    """Return the note on messages that another (or a crashed) dispatcher claimed and left in `sending`."""
    ends = ""
    if dispatched.lease_ends is not None:
        ends = timezone.localtime(dispatched.lease_ends).strftime("%d-%m-%Y %H:%M:%S")
    return ngettext(
        "let op: %(count)d bericht staat op 'Wordt verzonden' bij een andere of afgebroken verzending "
        "en is niet in deze tabel geteld. De eerste run na %(ends)s verstuurt het opnieuw, als het dan "
        "niet verzonden is (BETAALREIS_DISPATCH_LEASE_SECONDS).",
        "let op: %(count)d berichten staan op 'Wordt verzonden' bij een andere of afgebroken verzending "
        "en zijn niet in deze tabel geteld. De eerste run na %(ends)s verstuurt ze opnieuw, voor zover ze "
        "dan niet verzonden zijn (BETAALREIS_DISPATCH_LEASE_SECONDS).",
        dispatched.held_by_lease,
    ) % {"count": dispatched.held_by_lease, "ends": ends}


def _describe_rate(kind: str, first: str, last: str | None, percent: str, messages: int) -> str:
    """Return one unconfirmed rate row as "wettelijke handelsrente 10,40 % vanaf 01-07-2026 (2 berichten)"."""
    english_report = translation.get_language() == "en"
    name = _("wettelijke handelsrente") if kind == "commercial" else _("wettelijke rente")
    shown_percent = percent if english_report else percent.replace(".", ",")

    def shown(day: str) -> str:
        return day if english_report else dt.date.fromisoformat(day).strftime("%d-%m-%Y")

    if last is None:
        period = _("vanaf %(first)s") % {"first": shown(first)}
    else:
        period = _("van %(first)s t/m %(last)s") % {"first": shown(first), "last": shown(last)}
    count = ngettext("%(count)d bericht", "%(count)d berichten", messages) % {"count": messages}
    return f"{name} {shown_percent} % {period} ({count})"


def _print_paused_for_review(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors paused until a payment in the bank review queue is decided."""
    if creditor_run.paused_for_review:
        named = _name_debtors(sorted(creditor_run.paused_for_review))
        console.print("  " + _("Gepauzeerd tot over een te beoordelen betaling is beslist: %(debtors)s") % {"debtors": named})


def _print_invoices_without_claim(creditor_run: CreditorRun, console: Console) -> None:
    """Print how many invoices in another currency got no interest or costs computed."""
    counts = creditor_run.invoices_without_claim()
    if not counts:
        return
    total = sum(counts.values())
    currencies = ", ".join(counts)
    text = ngettext(
        "let op: geen wettelijke rente of incassokosten berekend voor %(count)d factuur in %(currencies)s, "
        "want die worden alleen in euro berekend; behandel deze vordering zelf.",
        "let op: geen wettelijke rente of incassokosten berekend voor %(count)d facturen in %(currencies)s, "
        "want die worden alleen in euro berekend; behandel deze vorderingen zelf.",
        total,
    ) % {"count": total, "currencies": currencies}
    console.print("  " + text, markup=False)


def _print_opted_out_of_every_channel(creditor_run: CreditorRun, console: Console) -> None:
    """Print the debtors who opted out of every channel, whose messages today can only go by post."""
    debtor_ids = sorted({
        message.debtor.id
        for message in creditor_run.plan.messages
        if opted_out_of_every_channel(message.debtor.opted_out_channels)
    })
    if debtor_ids:
        text = _("Afgemeld voor alle kanalen, dus berichten gaan alleen per brief: %(debtors)s") % {
            "debtors": _name_debtors(debtor_ids)
        }
        console.print("  " + text, markup=False)


def _print_limitation_holds(creditor_run: CreditorRun, console: Console) -> None:
    """Name the invoices held because their claim may be time-barred, and how to release them."""
    holds = sorted(creditor_run.plan.limitation_holds.values(), key=lambda hold: (hold.due_date, hold.number))
    if not holds:
        return

    english_report = translation.get_language() == "en"
    date_format = "%Y-%m-%d" if english_report else "%d-%m-%Y"
    listed = []
    for hold in holds[:MAX_NAMED_UNREACHABLE]:
        if hold.last_interruption is None:
            detail = _("vervaldatum %(due)s") % {"due": hold.due_date.strftime(date_format)}
        else:
            detail = _("vervaldatum %(due)s, laatste aanmaning of betaling %(last)s") % {
                "due": hold.due_date.strftime(date_format), "last": hold.last_interruption.strftime(date_format),
            }
        listed.append(f"{hold.number} ({detail})")
    invoices = ", ".join(listed)
    if len(holds) > MAX_NAMED_UNREACHABLE:
        invoices = _("%(named)s en nog %(more)d") % {"named": invoices, "more": len(holds) - MAX_NAMED_UNREACHABLE}

    text = ngettext(
        "let op: %(count)d factuur niet aangemaand wegens mogelijke verjaring: meer dan 5 jaar na de "
        "vervaldatum zonder schriftelijke aanmaning of betaling in Betaalreis (art. 3:307 BW): %(invoices)s.",
        "let op: %(count)d facturen niet aangemaand wegens mogelijke verjaring: meer dan 5 jaar na de "
        "vervaldatum zonder schriftelijke aanmaning of betaling in Betaalreis (art. 3:307 BW): %(invoices)s.",
        len(holds),
    ) % {"count": len(holds), "invoices": invoices}
    advice = _(
        "Een schriftelijke aanmaning buiten Betaalreis (art. 3:317 BW) of een erkenning door de debiteur "
        "(art. 3:318 BW) kan de verjaring hebben gestuit, en dan loopt vanaf de volgende dag een nieuwe termijn "
        "van 5 jaar (art. 3:319 BW). Controleer het dossier en geef een factuur vrij met "
        "`betaalreis limitation release FACTUURNUMMER --creditor %(creditor)s --reason TEKST`."
    ) % {"creditor": creditor_run.creditor.slug}
    console.print(f"  {text} {advice}", markup=False)


def _print_manual_tasks(creditor_run: CreditorRun, console: Console) -> None:
    """Print the tasks this run stored in place of 14-day letters, then count the earlier open ones and the done ones.

    A task stored by an earlier run and unchanged since is only counted, so
    each run does not announce it again.
    """
    tasks = creditor_run.tasks
    for task in tasks.stored:
        text = _(
            "Taak: veertiendagenbrief aan %(customer_number)s niet verstuurd. Het lettertype van de brief "
            "kan de tekens %(letters)s uit de naam of het adres niet afdrukken, en zonder akkoord met "
            "elektronische communicatie mag de brief niet per e-mail. Vraag de debiteur om de naam in "
            "Latijnse letters of om dat akkoord en leg het vast, of zet BETAALREIS_LETTER_FONT op een "
            "TrueType-lettertype met deze tekens. De volgende run plant de brief dan opnieuw."
        ) % {"customer_number": task.customer_number, "letters": repr(task.letters[:20])}
        console.print("  " + text + " " + _("De taak staat op de tijdlijn van de debiteur."), markup=False)

    if tasks.still_open:
        console.print("  " + ngettext(
            "%(count)d eerdere taak voor een veertiendagenbrief staat nog open: %(debtors)s",
            "%(count)d eerdere taken voor een veertiendagenbrief staan nog open: %(debtors)s",
            len(tasks.still_open),
        ) % {"count": len(tasks.still_open), "debtors": _name_debtors(sorted(set(tasks.still_open)))}, markup=False)
    if tasks.done:
        console.print("  " + ngettext(
            "%(count)d taak voor een veertiendagenbrief afgerond (brief gepland of facturen gesloten): %(debtors)s",
            "%(count)d taken voor een veertiendagenbrief afgerond (brief gepland of facturen gesloten): %(debtors)s",
            len(tasks.done),
        ) % {"count": len(tasks.done), "debtors": _name_debtors(sorted(set(tasks.done)))}, markup=False)


def _print_handovers(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors this run handed over, with their claim, and the file for the collection agency."""
    handovers = creditor_run.handovers
    if not handovers.debtors:
        return
    console.print("  " + ngettext(
        "%(count)d debiteur uit handen gegeven. Geef de gegevens door aan het incassobureau: %(path)s",
        "%(count)d debiteuren uit handen gegeven. Geef de gegevens door aan het incassobureau: %(path)s",
        len(handovers.debtors),
    ) % {"count": len(handovers.debtors), "path": handovers.path}, markup=False)
    for debtor in handovers.debtors:
        console.print(
            f"    {debtor.customer_number} {debtor.name}: {format_money(debtor.total, debtor.currency)}",
            markup=False,
        )


# How many debtors each summary line names; the rest are counted.
MAX_NAMED_UNREACHABLE = 10


def _name_debtors(debtor_ids: list[int]) -> str:
    """Return the customer numbers of the first debtors, and how many more there are."""
    shown = debtor_ids[:MAX_NAMED_UNREACHABLE]
    numbers = dict(Debtor.objects.filter(pk__in=shown).values_list("id", "customer_number"))
    named = ", ".join(numbers[debtor_id] for debtor_id in shown)
    more = len(debtor_ids) - MAX_NAMED_UNREACHABLE
    if more <= 0:
        return named
    return _("%(named)s en nog %(more)d") % {"named": named, "more": more}


def _print_unreachable(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors that no channel of any due stage can reach, per stage and reason.

    One line per stage and reason, so the reader can see which contact data to fix.
    """
    language = "en" if translation.get_language() == "en" else "nl"
    by_reason: dict[tuple[str, str], list[int]] = defaultdict(list)
    for message in creditor_run.plan.messages:
        if message.channel is None:
            by_reason[(message.stage.name_for(language), message.unreachable_reason)].append(message.debtor.id)

    for (stage_name, reason), debtor_ids in by_reason.items():
        console.print("  " + _("Onbereikbaar voor %(stage)s (%(reason)s): %(debtors)s") % {
            "stage": stage_name, "reason": reason, "debtors": _name_debtors(debtor_ids),
        }, markup=False)


def _print_held_second_messages(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors whose message of a stage waits for the next run because they already get one today."""
    language = "en" if translation.get_language() == "en" else "nl"
    by_stage: dict[str, list[int]] = defaultdict(list)
    for message in creditor_run.plan.held_second_messages:
        by_stage[message.stage.name_for(language)].append(message.debtor.id)

    for stage_name, debtor_ids in by_stage.items():
        console.print("  " + _(
            "%(stage)s uitgesteld tot de volgende run, omdat de debiteur vandaag al een bericht krijgt: %(debtors)s"
        ) % {"stage": stage_name, "debtors": _name_debtors(debtor_ids)}, markup=False)


def print_waiting_messages(waiting_messages: list[WaitingMessages], console: Console) -> None:
    """Print per channel how many messages the contact rules hold back, until when and why, then the retries."""
    for waiting in waiting_messages:
        if waiting.is_retry:
            continue
        first = _amsterdam_moment(waiting.first_allowed)
        last = _amsterdam_moment(waiting.last_allowed)
        if first == last:
            text = ngettext(
                "%(channel)s: %(count)d bericht wacht tot %(first)s (%(reason)s)",
                "%(channel)s: %(count)d berichten wachten tot %(first)s (%(reason)s)",
                waiting.count,
            )
        else:
            # Two moments mean two messages or more, so only the plural form is needed.
            text = _(
                "%(channel)s: %(count)d berichten wachten tot een moment van %(first)s tot en met %(last)s "
                "(%(reason)s)"
            )
        _print_waiting_line(
            console, text, waiting.channel, waiting.count, first, last, _hold_reason_in_language(waiting.hold_reason)
        )

    _print_waiting_retries(waiting_messages, console)


def _print_waiting_retries(waiting_messages: list[WaitingMessages], console: Console) -> None:
    """Print per channel and send error how many messages wait to be tried again, and from when."""
    by_reason: dict[tuple[str, str], list[WaitingMessages]] = defaultdict(list)
    for waiting in waiting_messages:
        if waiting.is_retry:
            by_reason[(waiting.channel, describe_send_error(waiting.error))].append(waiting)

    for (channel, reason), groups in by_reason.items():
        count = sum(group.count for group in groups)
        first = _amsterdam_moment(min(group.first_allowed for group in groups))
        last = _amsterdam_moment(max(group.last_allowed for group in groups))
        if first == last:
            text = ngettext(
                "%(channel)s: %(count)d bericht wacht tot %(first)s om opnieuw te proberen na een fout: %(reason)s",
                "%(channel)s: %(count)d berichten wachten tot %(first)s om opnieuw te proberen na een fout: "
                "%(reason)s",
                count,
            )
        else:
            text = _(
                "%(channel)s: %(count)d berichten wachten tot een moment van %(first)s tot en met %(last)s om "
                "opnieuw te proberen na een fout: %(reason)s"
            )
        _print_waiting_line(console, text, channel, count, first, last, reason)


def _print_waiting_line(
    console: Console, text: str, channel: str, count: int, first: str, last: str, reason: str
) -> None:
    """Print one line on waiting messages: `text` with the channel's name, the count, the moments and the reason."""
    channel_name = str(CHANNEL_NAMES.get(channel, channel))
    console.print("  " + text % {
        "channel": channel_name[:1].upper() + channel_name[1:],
        "count": count,
        "first": first,
        "last": last,
        "reason": reason,
    }, markup=False)


def _hold_reason_in_language(hold_reason: str) -> str:
    """Return the stored Dutch hold reasons, such as "zondag, feestdag", in the report language.

    Each reason is one of the labels in `ledger.timeline_text.LABELS`, whose
    catalogs have the English text.
    """
    return ", ".join(_(reason) for reason in hold_reason.split(", "))


def _amsterdam_moment(moment: dt.datetime) -> str:
    return timezone.localtime(moment, AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def _print_waiting_reminders(creditor_run: CreditorRun, console: Console) -> None:
    """Name the debtors whose instalment reminder waits for the next run because they already get a message today."""
    debtor_ids = creditor_run.reminders.waiting_debtor_ids
    if not debtor_ids:
        return
    console.print("  " + _(
        "%(stage)s uitgesteld tot de volgende run, omdat de debiteur vandaag al een bericht krijgt: %(debtors)s"
    ) % {"stage": _("Termijnherinnering"), "debtors": _name_debtors(debtor_ids)}, markup=False)


def _creditor_line(creditor_run: CreditorRun) -> str:
    """Return the one-line summary of what the run did for one creditor."""
    plan = creditor_run.plan
    written = creditor_run.written
    payments = creditor_run.payments
    values = {
        "creditor": creditor_run.creditor.slug,
        "payments": payments.matched,
        "review": payments.to_review,
        "credit": _credit_text(payments.credit_applied, payments.credit_notes_applied),
        "checked": plan.invoices_considered,
        "planned": len(written.created),
        "already_planned": written.already_planned,
        "unreachable": written.unreachable,
        "held": len(plan.held_second_messages),
        "waiting": plan.waiting_for_legal_term,
        "waiting_previous": plan.waiting_for_previous,
        "paused": plan.paused,
    }
    parts = [
        ngettext("%(payments)d betaling verwerkt", "%(payments)d betalingen verwerkt", payments.matched),
        _("%(review)d te beoordelen"),
        "%(credit)s",
        ngettext("%(checked)d openstaande factuur gecontroleerd", "%(checked)d openstaande facturen gecontroleerd",
                 plan.invoices_considered),
        ngettext("%(planned)d bericht gepland", "%(planned)d berichten gepland", len(written.created)),
        _("%(already_planned)d vandaag al gepland"),
        ngettext("%(unreachable)d debiteur onbereikbaar", "%(unreachable)d debiteuren onbereikbaar",
                 written.unreachable),
        ngettext("%(held)d tweede bericht van de dag uitgesteld", "%(held)d tweede berichten van de dag uitgesteld",
                 len(plan.held_second_messages)),
        ngettext("%(waiting)d factuur wacht op een termijn van 14 dagen",
                 "%(waiting)d facturen wachten op een termijn van 14 dagen", plan.waiting_for_legal_term),
        ngettext("%(waiting_previous)d factuur wacht op de minimale tijd na de vorige fase",
                 "%(waiting_previous)d facturen wachten op de minimale tijd na de vorige fase",
                 plan.waiting_for_previous),
        ngettext("%(paused)d openstaande factuur van gepauzeerde debiteuren",
                 "%(paused)d openstaande facturen van gepauzeerde debiteuren", plan.paused),
    ]
    text = ", ".join(parts[:3]) + "; " + parts[3] + "; " + ", ".join(parts[4:])
    return f"{values['creditor']}: " + text % values


def _credit_text(debtor_credit: dict[str, Decimal], credit_notes: dict[str, Decimal]) -> str:
    """Return the debtor credit and open credit notes a run applied to other invoices, in the report language.

    Amounts are per currency, as "€ 5,00 + $ 2,00", and a source that applied nothing is left out.
    """
    if debtor_credit and credit_notes:
        return _(
            "verrekend met andere facturen: %(debtor_credit)s uit tegoed van debiteuren en %(credit_notes)s "
            "uit open creditnota's"
        ) % {"debtor_credit": _money_sum(debtor_credit), "credit_notes": _money_sum(credit_notes)}
    if debtor_credit:
        return _("verrekend met andere facturen: %(debtor_credit)s uit tegoed van debiteuren") % {
            "debtor_credit": _money_sum(debtor_credit),
        }
    if credit_notes:
        return _("verrekend met andere facturen: %(credit_notes)s uit open creditnota's") % {
            "credit_notes": _money_sum(credit_notes),
        }
    return _("niets verrekend uit tegoed van debiteuren of open creditnota's")


def _money_sum(amounts: dict[str, Decimal]) -> str:
    return " + ".join(format_money(amount, currency) for currency, amount in sorted(amounts.items()))
