"""Debtor portal views: sign-in by link or code, the account, and what a debtor can arrange.

Every view below the sign-in reads the signed-in debtors from the session
and returns 404 for any id that is not theirs. State changes go through
`betaalreis.portal.services`, `betaalreis.payments.services` and
`betaalreis.payments.plans`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.electronic_agreement import do_set_electronic_agreement
from betaalreis.ledger.logos import logo_content_type, stored_logo_path
from betaalreis.ledger.models import (
    DUNNABLE_STATUSES,
    Creditor,
    Debtor,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    TimelineKind,
    opted_out_of_every_channel,
)
from betaalreis.payments import online
from betaalreis.ledger.timeline_text import phrase_in_language
from betaalreis.payments import plans as plan_services
from betaalreis.payments import services as payment_services
from betaalreis.payments.models import CheckoutPayment, PaymentPlan, PlanStatus
from betaalreis.payments.online import NotPayableOnline
from betaalreis.payments.providers.base import ProviderError
from betaalreis.portal import codes, services
from betaalreis.portal.branding import brand_css_for
from betaalreis.portal.dates import format_long_date
from betaalreis.portal.forms import (
    CodeForm,
    CodeRequestForm,
    DisputeForm,
    PayForm,
    PlanForm,
    PreferencesForm,
    PromiseForm,
)
from betaalreis.portal.links import (
    InvalidPortalToken,
    read_expired_portal_token,
    read_portal_token,
    read_short_code,
)
from betaalreis.portal.models import ContactKind
from betaalreis.portal.pdf import render_invoice_pdf, render_statement_pdf
from betaalreis.portal.sentences import with_full_stop
from betaalreis.sign_in_limits import client_address

logger = logging.getLogger(__name__)

SESSION_DEBTORS = "portal_debtor_ids"
SESSION_PENDING = "portal_pending_debtor_id"


def _too_many(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/blocked.html", status=429)


def _count_wrong_code(request: HttpRequest) -> HttpResponse | None:
    """Count a wrong one-time code against the client address.

    Returns the 429 page when the address is already over the limit, and
    None otherwise. The warning is logged once per window, when the count
    reaches the limit.
    """
    address = client_address(request)
    if codes.is_blocked(address):
        return _too_many(request)

    _note_wrong_code(address)
    return None


def _note_wrong_code(address: str) -> None:
    """Count a failed sign-in of the client address, and log a warning when the count reaches the limit."""
    failures = codes.note_failure(address)
    if failures == settings.BETAALREIS_PORTAL_FAILURES_PER_ADDRESS:
        logger.warning(
            "portal sign-in throttled for client address",
            extra={"client_address": address, "failures": failures, "window_seconds": codes.FAILURE_WINDOW_SECONDS},
        )


def _sign_in(request: HttpRequest, debtor: Debtor, *, method: str) -> HttpResponse:
    request.session.cycle_key()
    request.session[SESSION_DEBTORS] = codes.linked_debtor_ids(debtor.pk)
    request.session.pop(SESSION_PENDING, None)
    timeline.record(
        debtor, TimelineKind.NOTE, "Betaalpagina geopend", source="portal",
        creditor_id=debtor.creditor_id, data={"channel": "portal", "method": method},
    )

    response = redirect("portal:overview")
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, debtor.language, samesite="Lax")
    return response


def _debtor_ids(request: HttpRequest) -> list[int]:
    return list(request.session.get(SESSION_DEBTORS, []))


def _debtor_or_404(request: HttpRequest, debtor_id: int) -> Debtor:
    if debtor_id not in _debtor_ids(request):
        raise Http404("No such account.")
    return get_object_or_404(Debtor.objects.select_related("creditor"), pk=debtor_id)


def _invoice_or_404(request: HttpRequest, invoice_id: int) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("debtor__creditor"),
        pk=invoice_id,
        debtor_id__in=_debtor_ids(request),
        kind=InvoiceKind.INVOICE,
    )


def signed_in(view):
    """Send visitors without a portal session to the page that explains how to sign in."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _debtor_ids(request):
            return _render(request, "portal/signed_out.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _render(request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    """Render a portal page with the signed-in debtor's creditor as brand."""
    context = dict(context or {})
    context.setdefault("brand", _brand_creditor(request))
    return render(request, template, context, status=status)


def _brand_creditor(request: HttpRequest) -> Creditor | None:
    ids = _debtor_ids(request) or [request.session.get(SESSION_PENDING)]
    debtor = Debtor.objects.select_related("creditor").filter(pk__in=[pk for pk in ids if pk]).order_by("pk").first()
    return debtor.creditor if debtor else None


# ---- sign-in ----------------------------------------------------------------


@require_http_methods(["GET"])
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    """Sign the debtor in from the link in a message, or offer a code when it expired.

    This view neither checks nor counts the failed sign-ins of the client
    address, because a signed token cannot be guessed and many debtors can
    share one address behind a carrier NAT.
    """
    try:
        debtor_id = read_portal_token(token)
    except InvalidPortalToken as exc:
        if exc.code != "portal_link_expired":
            raise Http404("Invalid link.") from None
        request.session[SESSION_PENDING] = read_expired_portal_token(token)
        return redirect("portal:code_request")

    debtor = Debtor.objects.filter(pk=debtor_id).select_related("creditor").first()
    if debtor is None:
        raise Http404("Invalid link.")
    return _sign_in(request, debtor, method="link")


@require_http_methods(["GET"])
def short_link(request: HttpRequest, code: str) -> HttpResponse:
    """Sign the debtor in from the short link in an SMS or letter.

    Unknown or expired codes return 404. Once the client address made
    BETAALREIS_PORTAL_FAILURES_PER_ADDRESS failed sign-ins in the window,
    every code returns the same 429 page, valid or not. The code is then not
    looked up, so a throttled guesser cannot tell which codes exist. Other
    debtors behind the same shared address then sign in with the long link
    of their e-mail (`sign_in_link`), which is never throttled, or wait for
    the window to end.
    """
    address = client_address(request)
    if codes.is_blocked(address):
        return _too_many(request)

    debtor_id = read_short_code(code)
    if debtor_id is None:
        _note_wrong_code(address)
        raise Http404("Invalid link.")

    debtor = Debtor.objects.filter(pk=debtor_id).select_related("creditor").first()
    if debtor is None:
        raise Http404("Invalid link.")
    return _sign_in(request, debtor, method="short_link")


@require_http_methods(["GET", "POST"])
def code_request(request: HttpRequest) -> HttpResponse:
    """Let a debtor whose link expired choose where a one-time code goes."""
    pending = request.session.get(SESSION_PENDING)
    debtor = Debtor.objects.filter(pk=pending).select_related("creditor").first() if pending else None
    if debtor is None:
        return _render(request, "portal/signed_out.html", status=403)

    kinds = []
    if debtor.email:
        kinds.append((ContactKind.EMAIL, _("e-mail naar %(address)s") % {"address": services.mask_contact(debtor.email)}))
    if debtor.mobile:
        kinds.append((ContactKind.PHONE, _("sms naar %(number)s") % {"number": services.mask_contact(debtor.mobile)}))

    form = CodeRequestForm(request.POST or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        try:
            codes.send_sign_in_code(debtor, form.cleaned_data["kind"])
        except codes.RateLimited:
            return _too_many(request)
        except codes.CodeError:
            form.add_error(None, _("De code kon niet worden verstuurd. Kies een andere manier of probeer het later opnieuw."))
        else:
            return redirect("portal:code_verify")

    return _render(request, "portal/code_request.html", {"form": form, "has_contact": bool(kinds)})


@require_http_methods(["GET", "POST"])
def code_verify(request: HttpRequest) -> HttpResponse:
    """Check the one-time code and sign the debtor in."""
    pending = request.session.get(SESSION_PENDING)
    if not pending:
        return _render(request, "portal/signed_out.html", status=403)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes.verify_sign_in_code(pending, form.cleaned_data["code"])
        except codes.CodeError as exc:
            blocked = _count_wrong_code(request)
            if blocked is not None:
                return blocked
            messages_by_code = {
                "code_wrong": _("Deze code klopt niet."),
                "code_expired": _("Deze code is verlopen. Vraag een nieuwe aan."),
                "code_locked": _("Te vaak een verkeerde code. Vraag een nieuwe aan."),
                "code_missing": _("Er staat geen code klaar. Vraag een nieuwe aan."),
            }
            form.add_error("code", messages_by_code.get(exc.code, _("Deze code klopt niet.")))
        else:
            debtor = get_object_or_404(Debtor.objects.select_related("creditor"), pk=pending)
            return _sign_in(request, debtor, method="code")

    return _render(request, "portal/code_verify.html", {"form": form})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return _render(request, "portal/signed_out.html", {"signed_out": True})


# ---- account ----------------------------------------------------------------


@signed_in
def overview(request: HttpRequest) -> HttpResponse:
    """Show open and paid invoices of every signed-in account, with pay buttons."""
    day = timezone.localdate()
    accounts = services.load_accounts(_debtor_ids(request), day)
    plans = {
        plan.debtor_id: plan
        for plan in PaymentPlan.objects.filter(
            debtor_id__in=_debtor_ids(request), status__in=(PlanStatus.ACTIVE, PlanStatus.PENDING_APPROVAL)
        )
    }
    for account in accounts:
        account.plan = plans.get(account.debtor.pk)
        account.next_instalment = (
            plan_services.next_instalment(account.plan)
            if account.plan and account.plan.status == PlanStatus.ACTIVE
            else None
        )
    brand = accounts[0].creditor if accounts else None
    return _render(request, "portal/overview.html", {"accounts": accounts, "today": day, "brand": brand})


@signed_in
@require_POST
def pay(request: HttpRequest) -> HttpResponse:
    """Start a checkout for the chosen invoices of one account and send the debtor to it."""
    debtor = _debtor_or_404(request, _int(request.POST.get("debtor")))
    ids = [_int(value) for value in request.POST.getlist("invoices")]
    form = PayForm(request.POST, invoice_ids=ids)
    if not ids or not form.is_valid():
        messages.error(request, _("Kies ten minste één factuur om te betalen."))
        return redirect("portal:overview")

    try:
        invoices = payment_services.payable_invoices(debtor, form.cleaned_data["invoices"])
    except InvalidInput as exc:
        if exc.code == "invoice_not_found":
            raise Http404("No such invoice.") from None
        messages.error(request, _not_payable_text(exc, debtor))
        return redirect("portal:overview")

    account = services.load_accounts([debtor.pk], timezone.localdate())[0]
    amount = services.amount_to_charge(account, {inv.pk for inv in invoices})
    open_checkout = payment_services.reusable_checkout(debtor, invoices, amount)
    if open_checkout is not None:
        return HttpResponseRedirect(open_checkout.checkout_url)
    return _start_checkout(request, debtor, invoices, amount=amount)


def _not_payable_text(exc: InvalidInput, debtor: Debtor) -> str:
    """Return the debtor's sentence for a pay request that `payable_invoices` or `start_checkout` rejected."""
    numbers = ", ".join(getattr(exc, "numbers", []))
    if exc.code == online.IN_PAYMENT_PLAN:
        return _(
            "Factuur %(numbers)s zit in uw betalingsregeling. U betaalt die met de termijnen van de regeling, "
            "dus er is geen betaling gestart."
        ) % {"numbers": numbers}
    if exc.code == online.HANDED_OVER:
        return _(
            "Factuur %(numbers)s is uit handen gegeven aan een incassobureau. U betaalt die aan het "
            "incassobureau, dus er is geen betaling gestart. Vragen? Neem contact op met %(name)s"
        ) % {"numbers": numbers, "name": with_full_stop(debtor.creditor.display_name)}
    texts = {
        online.ALREADY_PAID: _("Deze factuur is al betaald."),
        online.CLOSED: _("Deze factuur staat niet meer open."),
        "payment_in_progress": _("Voor deze factuur loopt al een betaling."),
    }
    return texts.get(exc.code, _("Deze facturen kunnen nu niet worden betaald."))


def _start_checkout(request: HttpRequest, debtor: Debtor, invoices: list[Invoice], **kwargs) -> HttpResponse:
    def urls_for(checkout: CheckoutPayment) -> payment_services.CheckoutUrls:
        return_url = request.build_absolute_uri(reverse("portal:payment_return", kwargs={"token": checkout.public_token}))
        return payment_services.CheckoutUrls(
            return_url=return_url,
            cancel_url=return_url,
            webhook_url=request.build_absolute_uri(reverse("payments:webhook", kwargs={"provider": checkout.provider})),
        )

    try:
        checkout = payment_services.start_checkout(
            debtor, invoices, urls_for=urls_for, language=translation.get_language() or "nl", **kwargs
        )
    except NotPayableOnline as exc:
        messages.error(request, _not_payable_text(exc, debtor))
        return redirect("portal:overview")
    except InvalidInput as exc:
        if exc.code != "checkout_open":
            raise
        messages.error(request, _(
            "Voor een of meer van deze facturen staat al een betaling open. Rond die betaling af of "
            "annuleer die via de link hieronder, of kies alleen de andere facturen."
        ))
        return redirect("portal:overview")
    except ProviderError:
        messages.error(request, _("Betalen lukt nu even niet. Probeer het over een paar minuten opnieuw."))
        return redirect("portal:overview")
    return HttpResponseRedirect(checkout.checkout_url)


def payment_return(request: HttpRequest, token: str) -> HttpResponse:
    """Show the state of a checkout after the provider sends the debtor back."""
    checkout = get_object_or_404(
        CheckoutPayment.objects.select_related("creditor", "ledger_payment"), public_token=token
    )
    payment = checkout.ledger_payment
    credit = unallocated_amount(payment) if payment is not None and payment.amount > 0 else None
    return _render(request, "portal/payment_return.html", {
        "checkout": checkout,
        "credit": credit if credit and credit > 0 else None,
        "invoices": checkout.invoices.order_by("due_date"),
        "signed_in": checkout.debtor_id in _debtor_ids(request),
        "brand": checkout.creditor,
    })


@signed_in
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice_or_404(request, invoice_id)
    pdf = render_invoice_pdf(invoice, translation.get_language() or "nl")
    timeline.record(invoice.debtor_id, TimelineKind.NOTE, f"Factuur {invoice.number} gedownload",
                    source="portal", creditor_id=invoice.creditor_id, invoice=invoice, data={"channel": "portal"})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_safe_name(invoice.number)}.pdf"'
    return response


@signed_in
def statement_pdf(request: HttpRequest, debtor_id: int) -> HttpResponse:
    debtor = _debtor_or_404(request, debtor_id)
    day = timezone.localdate()
    account = services.load_accounts([debtor.pk], day)[0]
    pdf = render_statement_pdf(account, translation.get_language() or "nl", day)
    timeline.record(debtor, TimelineKind.NOTE, "Rekeningoverzicht gedownload", source="portal",
                    creditor_id=debtor.creditor_id, data={"channel": "portal"})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="overzicht-{day:%Y-%m-%d}.pdf"'
    return response


@signed_in
@require_http_methods(["GET", "POST"])
def dispute(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Let the debtor dispute or ask about one invoice, with an optional attachment."""
    invoice = _invoice_or_404(request, invoice_id)
    form = DisputeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.do_open_dispute(
                invoice.debtor, invoice,
                reason=form.cleaned_data["reason"],
                message=form.cleaned_data["message"],
                attachment=form.cleaned_data.get("attachment"),
            )
        except InvalidInput as exc:
            field = "attachment" if exc.code.startswith("attachment") else None
            texts = {
                "attachment_too_large": _("De bijlage is groter dan 5 MB."),
                "attachment_type": _("De bijlage moet een PDF, PNG of JPEG zijn."),
                "dispute_exists": _("Over deze factuur loopt al een vraag of geschil."),
            }
            form.add_error(field, texts.get(exc.code, _("Uw bericht kon niet worden opgeslagen.")))
        else:
            messages.success(request, _("Dank u. We nemen contact met u op; tot dan sturen we over deze factuur geen herinneringen."))
            return redirect("portal:overview")
    return _render(request, "portal/dispute.html", {"form": form, "invoice": invoice})


@signed_in
@require_http_methods(["GET", "POST"])
def promise(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Let the debtor promise to pay by a date within the creditor's maximum delay."""
    debtor = _debtor_or_404(request, debtor_id)
    today = timezone.localdate()
    limits = services.portal_settings_for(debtor.creditor_id)
    latest = today + dt.timedelta(days=limits.max_promise_days)
    blocker = _arrangement_blocker(debtor)
    if blocker:
        return _render(request, "portal/promise.html", {"debtor": debtor, "blocker": blocker})
    form = PromiseForm(request.POST or None)
    form.fields["promised_date"].widget.attrs.update({"min": today.isoformat(), "max": latest.isoformat()})
    # A promise stops reminders but not the 14-day term: the page states what a later date costs.
    account = services.load_accounts([debtor.pk], today)[0]

    if request.method == "POST" and form.is_valid():
        try:
            services.do_make_promise(debtor, form.cleaned_data["promised_date"], today=today)
        except InvalidInput as exc:
            texts = {
                "promise_date_past": _("Kies vandaag of een latere datum."),
                "promise_date_too_late": _("Kies een datum uiterlijk %(date)s.") % {"date": format_long_date(latest, translation.get_language() or "nl")},
                "promise_exists": _("U heeft al een betaalbelofte gedaan."),
                "nothing_open": _("Er staat niets open."),
                "promise_handed_over": _("Uw openstaande facturen zijn uit handen gegeven voor incasso."),
                "promise_payment_plan": _("U betaalt al in termijnen."),
                "promise_disputed": _("Over uw openstaande facturen loopt een vraag of geschil."),
            }
            form.add_error("promised_date" if exc.code.startswith("promise_date") else None,
                           texts.get(exc.code, _("De belofte kon niet worden opgeslagen.")))
        else:
            messages.success(request, _("Dank u. Tot de gekozen datum sturen we geen herinneringen."))
            return redirect("portal:overview")
    return _render(
        request, "portal/promise.html",
        {"form": form, "debtor": debtor, "latest": latest, "today": today, "account": account},
    )


@signed_in
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Let the debtor request a payment plan and show the resulting schedule."""
    debtor = _debtor_or_404(request, debtor_id)
    today = timezone.localdate()
    limits = services.portal_settings_for(debtor.creditor_id)
    current = PaymentPlan.objects.filter(
        debtor=debtor, status__in=(PlanStatus.ACTIVE, PlanStatus.PENDING_APPROVAL)
    ).first()
    if current is not None:
        return _render(request, "portal/plan_status.html", {
            "plan": current, "debtor": debtor, "states": plan_services.instalment_states(current),
            "next": plan_services.next_instalment(current) if current.status == PlanStatus.ACTIVE else None,
            "outside_limits": phrase_in_language(current.outside_limits_reason),
        })

    open_invoices = list(
        Invoice.objects.filter(
            debtor=debtor, kind=InvoiceKind.INVOICE, status__in=DUNNABLE_STATUSES, open_amount__gt=0
        ).order_by("due_date", "number")
    )
    if not open_invoices:
        return _render(request, "portal/plan.html", {"debtor": debtor, "blocker": _arrangement_blocker(debtor)})

    context = {"debtor": debtor, "limits": limits, "invoices": open_invoices}
    choices = [(inv.pk, inv.number) for inv in open_invoices]
    if request.method != "POST":
        terms = min(3, limits.max_plan_terms)
        form = PlanForm(invoice_choices=choices, initial={"terms": terms, "invoices": [pk for pk, _label in choices]})
        proposal = plan_services.propose_plan(debtor, open_invoices, terms, today=today)
        return _render(request, "portal/plan.html", {**context, "form": form, **_proposal_context(proposal)})

    rejected = _not_plannable_text(debtor, request.POST.getlist("invoices"), open_invoices)
    if rejected:
        logger.info("plan request rejected: invoices not open for a plan", extra={"debtor_id": debtor.pk})
        form = PlanForm(invoice_choices=choices, initial={"terms": request.POST.get("terms")})
        return _render(request, "portal/plan.html", {**context, "form": form, "rejected": rejected}, status=400)

    form = PlanForm(request.POST, invoice_choices=choices)
    if not form.is_valid():
        return _render(request, "portal/plan.html", {**context, "form": form})
    chosen = [inv for inv in open_invoices if inv.pk in form.cleaned_data["invoices"]]
    terms = form.cleaned_data["terms"]
    proposal = plan_services.propose_plan(debtor, chosen, terms, today=today)
    context.update(form=form, **_proposal_context(proposal))
    if "preview" in request.POST:
        return _render(request, "portal/plan.html", context)

    # A request is made only for the plan whose text the debtor saw, so the
    # posted fingerprint must match these invoices, terms and amounts.
    if request.POST.get("shown") != proposal.fingerprint:
        form.add_error(None, _(
            "De regeling hieronder is berekend voor de facturen en termijnen die u nu koos. "
            "Controleer de regeling en klik dan op Regeling aanvragen."
        ))
        return _render(request, "portal/plan.html", context)

    try:
        plan_services.do_request_plan(debtor, chosen, terms, today=today, expected=proposal.fingerprint)
    except InvalidInput as exc:
        logger.info("plan request failed", extra={"debtor_id": debtor.pk, "code": exc.code})
        texts = {
            "plan_exists": _("U heeft al een betalingsregeling."),
            "invoice_not_open": _("Een van de gekozen facturen staat niet meer open. Kies opnieuw."),
            "plan_changed": _("De bedragen zijn net gewijzigd. Laad de pagina opnieuw en controleer de regeling."),
        }
        form.add_error(None, texts.get(exc.code, _("De regeling kon niet worden aangemaakt. Kies openstaande facturen.")))
        return _render(request, "portal/plan.html", context)
    return redirect("portal:plan", debtor_id=debtor.pk)


def _proposal_context(proposal: plan_services.PlanProposal) -> dict[str, object]:
    return {
        "proposal": proposal,
        "proposal_numbers": ", ".join(invoice.number for invoice in proposal.invoices),
        "proposal_reason": phrase_in_language(proposal.check.reason),
    }


def _not_plannable_text(debtor: Debtor, posted: list[str], open_invoices: list[Invoice]) -> str:
    """Return the debtor's sentence for posted invoices that cannot go in a plan, or "" when all can.

    Invoices of this debtor are named with the reason. Any other id gets one
    sentence that names nothing, so a debtor learns nothing about other accounts.
    """
    allowed = {str(inv.pk) for inv in open_invoices}
    rejected = [value for value in posted if value not in allowed]
    if not rejected:
        return ""

    # Larger numbers are no database id, and PostgreSQL rejects them in a bigint filter.
    ids = [int(value) for value in rejected if value.isdigit() and int(value) < 2**63]
    own = list(
        Invoice.objects.filter(debtor=debtor, creditor_id=debtor.creditor_id, kind=InvoiceKind.INVOICE, pk__in=ids)
        .order_by("due_date", "number")
    )
    reasons = {
        InvoiceStatus.PAID: _("Factuur %(number)s is al betaald."),
        InvoiceStatus.DISPUTED: _("Over factuur %(number)s loopt een vraag of geschil."),
        InvoiceStatus.HANDED_OVER: _("Factuur %(number)s is uit handen gegeven aan een incassobureau."),
        InvoiceStatus.PAYMENT_PLAN: _("Factuur %(number)s zit al in een betalingsregeling."),
    }
    sentences = [
        reasons.get(invoice.status, _("Factuur %(number)s staat niet meer open.")) % {"number": invoice.number}
        for invoice in own
    ]
    if len(own) < len(rejected):
        sentences.append(_("Een gekozen factuur hoort niet bij dit klantnummer."))
    sentences.append(_("Er is geen regeling aangevraagd. Kies alleen uit de openstaande facturen hieronder."))
    return " ".join(sentences)


def _arrangement_blocker(debtor: Debtor) -> str:
    """Return why the debtor can make no promise or new plan, or "" (see `services.arrangement_blocker`)."""
    return services.arrangement_blocker(
        list(Invoice.objects.filter(debtor=debtor, kind=InvoiceKind.INVOICE, open_amount__gt=0))
    )


@signed_in
@require_POST
def plan_pay(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Start a checkout for the next unpaid instalment of the debtor's active plan."""
    debtor = _debtor_or_404(request, debtor_id)
    current = get_object_or_404(PaymentPlan, debtor=debtor, status=PlanStatus.ACTIVE)
    state = plan_services.next_instalment(current)
    if state is None:
        return redirect("portal:plan", debtor_id=debtor.pk)
    invoices = list(current.invoices.filter(open_amount__gt=0).order_by("due_date", "number"))
    open_checkout = payment_services.reusable_checkout(debtor, invoices, state.outstanding, plan=current)
    if open_checkout is not None:
        return HttpResponseRedirect(open_checkout.checkout_url)
    return _start_checkout(request, debtor, invoices, amount=state.outstanding, plan=current)


@signed_in
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, debtor_id: int) -> HttpResponse:
    """Let the debtor change channel, language, contact details and opt-outs."""
    debtor = _debtor_or_404(request, debtor_id)
    initial = {
        "email": debtor.email, "mobile": debtor.mobile, "language": debtor.language,
        "preferred_channel": debtor.preferred_channel, "opted_out_channels": debtor.opted_out_channels,
        "electronic_agreement": debtor.electronic_agreement,
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.do_update_preferences(debtor, services.Preferences(
                email=data["email"], mobile=data["mobile"], language=data["language"],
                preferred_channel=data["preferred_channel"],
                opted_out_channels=tuple(data["opted_out_channels"]),
            ))
        except InvalidInput as exc:
            mobile_errors = {
                "not_mobile": _(
                    "Dit is geen mobiel nummer, dus een sms of WhatsApp komt niet aan. Vul een mobiel nummer "
                    "in, zoals 06 12345678."
                ),
            }
            form.add_error("mobile", mobile_errors.get(exc.code, _("Vul een mobiel nummer in zoals 06 12345678.")))
        else:
            do_set_electronic_agreement(debtor, data["electronic_agreement"], source="portal")
            # The next page shows in the newly chosen language, so the confirmation does too.
            with translation.override(data["language"]):
                messages.success(request, _("Uw voorkeuren zijn opgeslagen."))
                if opted_out_of_every_channel(data["opted_out_channels"]):
                    messages.warning(request, _(
                        "U hebt zich voor alle kanalen afgemeld. U krijgt van ons geen e-mail, sms, WhatsApp of "
                        "telefoontje meer. Over openstaande facturen kunnen wij u wel per brief blijven schrijven, "
                        "want dat mag ook na een afmelding."
                    ))
            response = redirect("portal:overview")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, data["language"], samesite="Lax")
            return response
    return _render(request, "portal/preferences.html", {"form": form, "debtor": debtor})


# ---- branding ---------------------------------------------------------------


def brand_css(request: HttpRequest, creditor_id: int) -> HttpResponse:
    """Serve the creditor's colours as CSS, so pages need no inline style."""
    creditor = get_object_or_404(Creditor, pk=creditor_id)
    response = HttpResponse(brand_css_for(creditor), content_type="text/css")
    response["Cache-Control"] = "public, max-age=300"
    return response


def logo(request: HttpRequest, creditor_id: int) -> HttpResponse:
    """Serve the creditor's uploaded logo, only from MEDIA_ROOT/logos and only when it is a PNG or JPEG."""
    creditor = get_object_or_404(Creditor, pk=creditor_id)
    path = stored_logo_path(creditor.logo.name)
    content_type = logo_content_type(path) if path is not None else None
    if path is None or content_type is None:
        raise Http404("No logo.")
    return FileResponse(path.open("rb"), content_type=content_type)


# The largest primary key a 64-bit signed database integer holds.
_MAX_ID = 2**63 - 1


def _int(value: str | None) -> int:
    """Return a posted id as an int, or raise Http404 for anything that no row can have.

    A number beyond the database's integer range would make the query fail
    with an OverflowError (a server error) instead of finding nothing.
    """
    try:
        number = int(value or "")
    except ValueError:
        raise Http404("Not found.") from None
    if not 0 < number <= _MAX_ID:
        raise Http404("Not found.")
    return number


def _safe_name(value: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in value)[:80]
