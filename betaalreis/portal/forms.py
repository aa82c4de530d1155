"""Forms of the debtor portal; labels and errors in Dutch with English translations."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import Channel, Language

# Channels in the words a debtor uses; the back office calls "phone" a call task.
DEBTOR_CHANNELS = [
    (Channel.EMAIL, _("E-mail")),
    (Channel.SMS, _("SMS")),
    (Channel.WHATSAPP, _("WhatsApp")),
    (Channel.LETTER, _("Brief")),
    (Channel.PHONE, _("Telefoon")),
]
from betaalreis.portal.models import ContactKind, DisputeReason


class CodeRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Stuur de code naar"), choices=ContactKind.choices, widget=forms.RadioSelect)

    def __init__(self, *args, kinds: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Vul de zes cijfers van de code in.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "8"}),
    )


class PayForm(forms.Form):
    debtor = forms.IntegerField(widget=forms.HiddenInput)
    invoices = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("Facturen"))

    def __init__(self, *args, invoice_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = [(pk, str(pk)) for pk in invoice_ids]


class PromiseForm(forms.Form):
    # An HTML date input takes its value as YYYY-MM-DD in every language and
    # shows it in the browser's own format, so the value is never localized.
    promised_date = forms.DateField(
        label=_("Ik betaal uiterlijk op"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class PlanForm(forms.Form):
    terms = forms.IntegerField(label=_("Aantal termijnen"), min_value=2, max_value=36)
    invoices = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("Facturen"),
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, invoice_choices: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = invoice_choices


class DisputeForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reden"), choices=DisputeReason.choices)
    message = forms.CharField(label=_("Toelichting"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5}))
    attachment = forms.FileField(
        label=_("Bijlage (PDF, PNG of JPEG, maximaal 5 MB)"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )


class PreferencesForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mailadres"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    mobile = forms.CharField(
        label=_("Mobiel nummer"), required=False, max_length=20,
        help_text=_("Bijvoorbeeld 06 12345678, of met landnummer, zoals +32 470 12 34 56."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "aria-describedby": "id_mobile-help"}),
    )
    language = forms.ChoiceField(label=_("Taal"), choices=Language.choices)
    preferred_channel = forms.ChoiceField(
        label=_("Voorkeurskanaal"), required=False,
        choices=[("", _("Geen voorkeur")), *DEBTOR_CHANNELS],
    )
    opted_out_channels = forms.MultipleChoiceField(
        label=_("Geen berichten via"), required=False, choices=DEBTOR_CHANNELS,
        help_text=_("Meldt u zich voor alle kanalen af, dan schrijven wij u over openstaande facturen alleen nog per brief."),
        widget=forms.CheckboxSelectMultiple,
    )
    electronic_agreement = forms.BooleanField(
        label=_("Akkoord met elektronische communicatie"), required=False,
        help_text=_(
            "Dan mogen wij u ook de veertiendagenbrief per e-mail sturen. Daarvoor is een e-mailadres nodig. "
            "Zonder dit akkoord sturen wij u die brief per post. U kunt het akkoord hier altijd intrekken."
        ),
        widget=forms.CheckboxInput(attrs={"aria-describedby": "id_electronic_agreement-help"}),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        preferred = cleaned.get("preferred_channel")
        if preferred and preferred in cleaned.get("opted_out_channels", []):
            self.add_error(
                "preferred_channel",
                _("U hebt zich voor dit kanaal afgemeld. Kies een ander voorkeurskanaal of geen voorkeur."),
            )
        # The agreement lets the 14-day letter go by e-mail, so without an address it would change nothing.
        if cleaned.get("electronic_agreement") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error(
                "electronic_agreement",
                _(
                    "Voor akkoord met elektronische communicatie is een e-mailadres nodig. Vul uw e-mailadres "
                    "in, of vink het akkoord uit."
                ),
            )
        return cleaned
