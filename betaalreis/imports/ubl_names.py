"""XML namespaces and identifier schemes shared by the UBL readers."""

from __future__ import annotations

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}

# ISO 6523 ICD party identifier schemes: the Dutch KvK number and the Dutch VAT id.
KVK_SCHEME = "0106"
NL_VAT_SCHEME = "9944"
