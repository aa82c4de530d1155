"""Turn a stored send error into a sentence for the operator, in the active language.

Dispatch stores each send error in `Communication.last_error` as
"code: message". The message comes from an adapter, often in English, and
sometimes contains Python's text of an exception, such as a dict of SMTP
replies or an OSError with its errno. The run summary and the admin show
the error through `describe_send_error`. It recognises those shapes and
writes them as a plain sentence: the reply code and text of the mail
server with the address it rejected, or the operation that failed on
which path. A Dutch phrase of `ledger.timeline_text.PHRASES` is
shown through `phrase_in_language`, and any other message as stored.
"""

from __future__ import annotations

import errno
import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from betaalreis.ledger.timeline_text import phrase_in_language

# "code: message" as dispatch stores it. The code of a crash is the exception's class name.
_STORED = re.compile(
    r"^(?P<code>[a-z][a-z0-9_]*|[A-Z][A-Za-z0-9_]*(?:Error|Exception|Exit|Interrupt)): (?P<message>.*)$", re.DOTALL
)

# Python's text of smtplib.SMTPRecipientsRefused: {'address': (550, b'5.1.1 reply'), ...}.
_REFUSED_RECIPIENT = re.compile(
    r"""['"](?P<address>[^'"]+)['"]: \((?P<code>\d{3}), b?(?P<quote>['"])(?P<text>.*?)(?P=quote)\)"""
)
# Python's text of an smtplib.SMTPResponseException: (451, b'4.3.0 reply'), and
# of SMTPSenderRefused, which adds the sender: (553, b'5.7.1 reply', 'from@example.nl').
_SMTP_REPLY = re.compile(
    r"""^\((?P<code>\d{3}), b?(?P<quote>['"])(?P<text>.*?)(?P=quote)"""
    r"""(?:, ['"](?P<sender>[^'"]*)['"])?\)$"""
)
# A reply code with its text inside an English sentence of an adapter: "... address: 550 5.1.1 No such user".
_REPLY_IN_SENTENCE = re.compile(r"(?P<code>[45]\d\d)(?: (?P<text>[245]\.\d{1,3}\.\d{1,3}\b.*?))?\.?$")
# Python's text of an OSError: "[Errno 20] Not a directory: '/srv/outbox/email'".
_OS_ERROR = re.compile(r"\[Errno (?P<number>\d+)\] (?P<text>[^:]*)(?:: (?P<quote>['\"])(?P<path>.*)(?P=quote))?")

# Descriptions by errno of the errors that an outbox folder or a mail server connection raises.
_ERRNO_TEXTS: dict[int, str] = {
    errno.ENOENT: N_("het bestand of de map bestaat niet"),
    errno.ENOTDIR: N_("een deel van het pad is geen map"),
    errno.EISDIR: N_("het pad is een map, geen bestand"),
    errno.EACCES: N_("geen toegang"),
    errno.EPERM: N_("niet toegestaan"),
    errno.ENOSPC: N_("de schijf is vol"),
    errno.EROFS: N_("het bestandssysteem is alleen-lezen"),
    errno.ECONNREFUSED: N_("de verbinding werd geweigerd"),
    errno.ECONNRESET: N_("de verbinding werd verbroken"),
    errno.ETIMEDOUT: N_("er kwam geen antwoord binnen de wachttijd"),
    errno.EHOSTUNREACH: N_("de server is onbereikbaar"),
    errno.ENETUNREACH: N_("het netwerk is onbereikbaar"),
}

# Adapter messages that need no details, by their exact text: the sentence is the whole reason.
_MESSAGE_TEXTS: dict[str, str] = {
    "Email has no recipient address.": N_("de debiteur heeft geen e-mailadres"),
    "SMS has no recipient number.": N_("de debiteur heeft geen mobiel nummer"),
    "The email backend accepted no message.": N_("de e-mailbackend nam het bericht niet aan"),
}
# The claim error for a debtor with open invoices in several currencies, in English or in Dutch, which
# names the debtor's database id and Python's text of the list of currencies: ['EUR', 'USD'].
_MIXED_CURRENCIES = re.compile(
    r"^(?:Debtor \S+ has open invoices in|Debiteur \S+ heeft openstaande facturen in) \[(?P<currencies>[^\]]*)\]"
)


def describe_send_error(error: str) -> str:
    """Return a stored send error as a sentence in the active language.

    `error` is "code: message" as `Communication.last_error` stores it, or
    the message alone, as `outbox.dispatch.error_reason` returns it.
    """
    found = _STORED.match(error.strip())
    code, message = (found["code"], found["message"].strip()) if found else ("", error.strip())

    if message in _MESSAGE_TEXTS:
        return _(_MESSAGE_TEXTS[message])
    mixed_currencies = _MIXED_CURRENCIES.match(message)
    if mixed_currencies is not None:
        currencies = ", ".join(re.findall(r"'([^']*)'", mixed_currencies["currencies"]))
        return _(
            "de debiteur heeft open facturen in meer dan één valuta (%(currencies)s), en een vordering heeft "
            "één valuta; verreken of converteer eerst de andere facturen"
        ) % {"currencies": currencies}

    smtp = _describe_smtp(message)
    if smtp is not None:
        return smtp

    os_error = _OS_ERROR.search(message)
    if os_error is not None:
        return _describe_os_error(os_error, crashed=code[:1].isupper(), exception=code)

    if code[:1].isupper():
        # A crash: the adapter or the template raised something that is not a BetaalreisError.
        return _(
            "onverwachte fout bij het opmaken of verzenden (%(exception)s: %(message)s); de traceback staat in "
            "het log ('communication render or send crashed')"
        ) % {"exception": code, "message": message}
    return phrase_in_language(message)


def _describe_smtp(message: str) -> str | None:
    """Return the sentence for a mail server's reply or a failed connection to it, or None for another message."""
    body = message.removeprefix("SMTP hand-over failed: ")
    if body != message:
        rejected_recipients = list(_REFUSED_RECIPIENT.finditer(body))
        if rejected_recipients:
            return "; ".join(
                _("de mailserver weigerde het adres %(address)s met antwoord %(reply)s") % {
                    "address": match["address"], "reply": _reply(match["code"], match["text"]),
                }
                for match in rejected_recipients
            )
        reply = _SMTP_REPLY.match(body)
        if reply is not None and reply["sender"]:
            return _("de mailserver weigerde het afzenderadres %(sender)s met antwoord %(reply)s") % {
                "sender": reply["sender"], "reply": _reply(reply["code"], reply["text"]),
            }
        if reply is not None:
            return _("de mailserver antwoordde %(reply)s") % {"reply": _reply(reply["code"], reply["text"])}
        os_error = _OS_ERROR.search(body)
        if os_error is not None:
            return _describe_os_error(os_error, connection=True)
        return _("de overdracht aan de mailserver mislukte: %(error)s") % {"error": body}

    # The sentences of the EmailRouter's SMTP provider, which state the reply after a colon.
    for prefix, text in (
        ("The mail server rejected the address: ", N_("de mailserver weigerde het adres met antwoord %(reply)s")),
        ("The mail server deferred the address: ", N_("de mailserver stelde het adres uit met antwoord %(reply)s")),
        ("The mail server rejected the message: ", N_("de mailserver weigerde het bericht met antwoord %(reply)s")),
        ("The mail server responded ", N_("de mailserver antwoordde %(reply)s")),
    ):
        if message.startswith(prefix):
            reply = _REPLY_IN_SENTENCE.search(message.removeprefix(prefix))
            if reply is not None:
                return _(text) % {"reply": _reply(reply["code"], reply["text"] or "")}
    if message.startswith("Could not connect to the mail server"):
        os_error = _OS_ERROR.search(message)
        if os_error is not None:
            return _describe_os_error(os_error, connection=True)
        return _("verbinden met de mailserver mislukte")
    return None


def _reply(code: str, text: str) -> str:
    """Return an SMTP reply as the server sent it, code first: "550 5.1.1 No such user"."""
    text = text.replace("\\r\\n", " ").replace("\\n", " ").strip()
    return f"{code} {text}".strip()


def _describe_os_error(
    found: re.Match[str], *, connection: bool = False, crashed: bool = False, exception: str = ""
) -> str:
    """Return the sentence for an OSError's text: what failed, in words, and on which path or connection."""
    number = int(found["number"])
    name = errno.errorcode.get(number, str(number))
    known = _ERRNO_TEXTS.get(number)
    description = _(known) if known is not None else found["text"]
    if connection:
        return _("verbinden met de mailserver mislukte: %(what)s (%(errno)s)") % {"what": description, "errno": name}
    if found["path"]:
        text = _("fout bij het schrijven of lezen van %(path)s: %(what)s (%(errno)s)") % {
            "path": found["path"], "what": description, "errno": name,
        }
    else:
        text = _("fout van het besturingssysteem: %(what)s (%(errno)s)") % {"what": description, "errno": name}
    if crashed:
        text += "; " + _("%(exception)s, de traceback staat in het log ('communication render or send crashed')") % {
            "exception": exception,
        }
    return text
