"""People's names compared as people mean them: "Ana  Maria" and "ana maria" are one name.

Used wherever two records are asked whether they are one person (a referral whose MRN
is known, a feed Patient matched by MRN, two records merged).
"""

from __future__ import annotations


def name_normalise(name: str) -> str:
    """The name with its spacing folded and its case ignored."""
    return " ".join(name.split()).casefold()
