"""National Drug Codes (NDC) as one form: 11 digits, 5-4-2.

The FDA assigns 10-digit NDCs in three hyphenated layouts, 4-4-2, 5-3-2 and 5-4-1
(labeler-product-package); claims (HIPAA standard transactions, NCPDP) carry the 11-digit
5-4-2 form, which pads the short segment with a leading zero. One package thus has two
written forms, "0002-7597-01" and "00002-7597-01": rxrego compares NDCs only in the
11-digit form. Source: FDA, National Drug Code Directory
(https://www.fda.gov/drugs/drug-approvals-and-databases/national-drug-code-directory).
"""

from __future__ import annotations

# The hyphenated layouts a spec may use, and which segment the 11-digit form pads.
_LAYOUTS: dict[tuple[int, ...], int | None] = {(5, 4, 2): None, (4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}
_WIDTHS = (5, 4, 2)


def ndc_11(ndc: str) -> str:
    """An NDC as written in a spec (a hyphenated layout of _LAYOUTS, or 11 digits: the spec
    schema admits only these) as 11 digits: "0002-7597-01" -> "00002759701"; 11 digits stay
    as given. KeyError for another hyphenated layout."""
    parts = ndc.split("-")
    if len(parts) == 1:
        return ndc
    pad = _LAYOUTS[tuple(len(p) for p in parts)]
    return "".join(p.zfill(_WIDTHS[i]) if i == pad else p for i, p in enumerate(parts))
