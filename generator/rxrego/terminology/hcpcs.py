"""HCPCS Level II codes that name no one drug: the unclassified / not-otherwise-classified
(NOC) drug codes, billed for any drug that has no code of its own.

Source: the CMS HCPCS Level II code set (https://www.cms.gov/medicare/coding-billing/
healthcare-common-procedure-system), long descriptors abridged. A request carrying one of
these says nothing about which drug it is: the drug is told by its NDC (which a claim
billed under a NOC code must carry) or its name.
"""

from __future__ import annotations

UNCLASSIFIED_DRUG_CODES: dict[str, str] = {
    "C9399": "Unclassified drugs or biologicals (hospital outpatient)",
    "J3490": "Unclassified drugs",
    "J3590": "Unclassified biologics",
    "J3591": "Unclassified drug or biological used for ESRD on dialysis",
    "J7599": "Immunosuppressive drug, not otherwise classified",
    "J7699": "NOC drugs, inhalation solution administered through DME",
    "J7799": "NOC drugs, other than inhalation drugs, administered through DME",
    "J8499": "Prescription drug, oral, non chemotherapeutic, NOS",
    "J8999": "Prescription drug, oral, chemotherapeutic, NOS",
    "J9999": "Not otherwise classified, antineoplastic drugs",
}


def unclassified(code: str) -> str | None:
    """The CMS descriptor when `code` (any case, spaces trimmed) is an unclassified / NOC
    drug code, else None."""
    return UNCLASSIFIED_DRUG_CODES.get(code.strip().upper()) if isinstance(code, str) else None
