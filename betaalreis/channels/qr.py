"""EPC QR codes ("GiroCode"): a SEPA credit transfer a banking app can scan.

The payload follows EPC069-12: twelve lines separated by LF, version 002
(BIC optional), character set 1 (UTF-8), identification SCT. The amount is
written with exactly two decimals. A structured reference (ISO 11649 RF or a
Dutch betalingskenmerk) goes on line 10 and any other reference on line 11,
because the two lines are mutually exclusive. The symbol uses error
correction level M, at most QR version 13, and at most 331 payload bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import segno
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.channels.qr_masking import (
    MaskRows,
    best_mask,
    function_rows,
    remasked_rows,
    rows_to_matrix,
    symbol_layout,
    unmasked_rows,
)
from betaalreis.errors import InvalidInput
from betaalreis.legal.references import is_valid_betalingskenmerk, is_valid_rf_reference

EPC_MAX_BYTES = 331
EPC_MAX_VERSION = 13
EPC_MIN_AMOUNT = Decimal("0.01")
EPC_MAX_AMOUNT = Decimal("999999999.99")

# EPC069-12 character set codes and the Python codec of each.
EPC_CHARSETS = {
    "1": "utf-8",
    "2": "iso-8859-1",
    "3": "iso-8859-2",
    "4": "iso-8859-4",
    "5": "iso-8859-5",
    "6": "iso-8859-7",
    "7": "iso-8859-10",
    "8": "iso-8859-15",
}


@dataclass(frozen=True, slots=True)
class EpcPayment:
    """The fields of one EPC QR payload, as written or as read back."""

    name: str
    iban: str
    amount: Decimal | None
    currency: str = "EUR"
    bic: str = ""
    purpose: str = ""
    structured_reference: str = ""
    text: str = ""
    information: str = ""
    version: str = "002"
    charset: str = "1"


def is_structured_reference(reference: str) -> bool:
    """Return whether `reference` belongs on the structured line (RF or betalingskenmerk)."""
    compact = reference.replace(" ", "").upper()
    if compact.startswith("RF"):
        return is_valid_rf_reference(compact)
    return compact.isdigit() and is_valid_betalingskenmerk(compact)


def _check_length(field: str, value: str, maximum: int) -> None:
    if len(value) > maximum:
        raise InvalidInput(
            f"EPC QR {field} is {len(value)} characters long, the maximum is {maximum}: {value!r}. "
            "Shorten it.",
            code="epc_field_too_long",
        )


def _format_amount(amount: Decimal) -> str:
    if not EPC_MIN_AMOUNT <= amount <= EPC_MAX_AMOUNT:
        raise InvalidInput(
            f"EPC QR amount {amount} is outside 0.01 to 999999999.99; "
            "leave the QR code out for a zero or negative balance.",
            code="epc_amount_out_of_range",
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(
            f"EPC QR amount {amount} has more than two decimals; round it to cents first.",
            code="epc_amount_precision",
        )
    return f"EUR{amount:.2f}"


def _normalise_iban(iban: str) -> str:
    try:
        return IBAN(iban).compact
    except SchwiftyException as exc:
        raise InvalidInput(
            f"EPC QR beneficiary IBAN is invalid ({exc}); correct the creditor's IBAN.",
            code="epc_invalid_iban",
        ) from exc


def _normalise_bic(bic: str) -> str:
    if not bic:
        return ""
    try:
        return str(BIC(bic))
    except SchwiftyException as exc:
        raise InvalidInput(
            f"EPC QR BIC {bic!r} is invalid ({exc}); correct it or leave it empty.",
            code="epc_invalid_bic",
        ) from exc


def build_epc_payload(
    *,
    name: str,
    iban: str,
    amount: Decimal,
    reference: str = "",
    bic: str = "",
    information: str = "",
    purpose: str = "",
) -> str:
    """Build the EPC069-12 payload text for a credit transfer in euro.

    `reference` goes on line 10 when it is an RF reference or a valid
    betalingskenmerk (spaces removed), otherwise on line 11 as free text.
    Raises InvalidInput naming the field when a value does not fit.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("EPC QR beneficiary name is empty; set the creditor's name.", code="epc_missing_name")
    _check_length("beneficiary name", name, 70)
    _check_length("beneficiary information", information, 70)
    if purpose and len(purpose) != 4:
        raise InvalidInput(
            f"EPC QR purpose {purpose!r} must be a 4-letter ISO 20022 purpose code.",
            code="epc_invalid_purpose",
        )

    structured = ""
    text = ""
    if reference and is_structured_reference(reference):
        structured = reference.replace(" ", "").upper()
        _check_length("structured reference", structured, 35)
    else:
        text = reference.strip()
        _check_length("remittance text", text, 140)

    lines = [
        "BCD",
        "002",
        "1",
        "SCT",
        _normalise_bic(bic),
        name,
        _normalise_iban(iban),
        _format_amount(amount),
        purpose,
        structured,
        text,
        information,
    ]

    # Trailing empty elements are left out, and no LF follows the last one.
    while lines and not lines[-1]:
        lines.pop()
    payload = "\n".join(lines)

    size = len(payload.encode("utf-8"))
    if size > EPC_MAX_BYTES:
        raise InvalidInput(
            f"EPC QR payload is {size} bytes, the maximum is {EPC_MAX_BYTES}; shorten the name or text.",
            code="epc_payload_too_long",
        )
    return payload


def make_epc_qr(payload: str) -> segno.QRCode:
    """Encode an EPC payload as a QR symbol at error level M, version 13 at most."""
    qr = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False, mode="byte")
    _check_version(qr.version)
    return qr


# The modules outside the data area of finished symbols, by (version, mask),
# at error level M. They do not depend on the payload.
_FUNCTION_ROWS: dict[tuple[int, int], MaskRows] = {}


def epc_qr_matrix(payload: str) -> tuple[bytes, ...]:
    """Return the rows of the symbol `make_epc_qr(payload)` has, one byte per module, 1 for dark.

    It encodes the payload once with mask 0 and chooses the mask with
    `best_mask`, which takes a fraction of the time segno needs to try all
    eight. Raises InvalidInput as `make_epc_qr` does.
    """
    data = payload.encode("utf-8")
    first = segno.make_qr(data, error="m", boost_error=False, mode="byte", mask=0)
    _check_version(first.version)
    layout = symbol_layout(len(first.matrix))
    unmasked = unmasked_rows(first.matrix, 0, layout)
    mask = best_mask(unmasked, layout)
    if mask == 0:
        return tuple(bytes(row) for row in first.matrix)

    functions = _FUNCTION_ROWS.get((first.version, mask))
    if functions is None:
        # The first symbol of a version and mask comes from segno, which
        # also gives the format and version modules for the next ones.
        symbol = segno.make_qr(data, error="m", boost_error=False, mode="byte", mask=mask, version=first.version)
        _FUNCTION_ROWS[(first.version, mask)] = function_rows(symbol.matrix, layout)
        return tuple(bytes(row) for row in symbol.matrix)
    data_rows = remasked_rows(unmasked, mask, layout)
    return rows_to_matrix([row | fixed for row, fixed in zip(data_rows, functions, strict=True)], layout.size)


def _check_version(version: int) -> None:
    if version > EPC_MAX_VERSION:
        raise InvalidInput(
            f"EPC QR symbol needs version {version}, the maximum is {EPC_MAX_VERSION}; "
            "shorten the payload.",
            code="epc_symbol_too_large",
        )


def parse_epc_payload(data: str | bytes) -> EpcPayment:
    """Read the fields of an EPC QR payload, for example as a scanner decoded it.

    Accepts LF or CR LF separators and one trailing separator. Raises
    InvalidInput when the service tag, version, charset or identification is
    not what EPC069-12 allows.
    """
    if isinstance(data, bytes):
        charset = data.split(b"\n", 3)[2].strip() if data.count(b"\n") >= 3 else b"1"
        codec = EPC_CHARSETS.get(charset.decode("ascii", "replace"), "utf-8")
        data = data.decode(codec)

    lines = data.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "" and len(lines) > 12:
        lines.pop()
    if len(lines) < 7 or len(lines) > 12:
        raise InvalidInput(f"EPC QR payload has {len(lines)} lines; 7 to 12 are allowed.", code="epc_invalid")
    lines += [""] * (12 - len(lines))

    service, version, charset, identification = lines[0:4]
    if service != "BCD" or version not in {"001", "002"} or identification != "SCT":
        raise InvalidInput(
            f"Not an EPC QR payload: service tag {service!r}, version {version!r}, "
            f"identification {identification!r}.",
            code="epc_invalid",
        )
    if charset not in EPC_CHARSETS:
        raise InvalidInput(f"EPC QR character set {charset!r} is not 1 to 8.", code="epc_invalid")

    amount_text = lines[7]
    amount: Decimal | None = None
    currency = "EUR"
    if amount_text:
        currency, amount = amount_text[:3], Decimal(amount_text[3:])

    return EpcPayment(
        version=version,
        charset=charset,
        bic=lines[4],
        name=lines[5],
        iban=lines[6],
        amount=amount,
        currency=currency,
        purpose=lines[8],
        structured_reference=lines[9],
        text=lines[10],
        information=lines[11],
    )
