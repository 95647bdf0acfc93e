"""Languages as ISO 639 codes (two letters where one exists, else three).

Any ISO 639 code is accepted; the common languages of US health care are listed
first in forms so that a navigator rarely has to type one.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry
from django.core.exceptions import ValidationError

COMMON_LANGUAGE_CODES = [
    "en", "es", "pt", "ht", "vi", "zh", "yue", "ar", "ru", "ko", "tl", "fr",
    "kea", "so", "km", "ne", "hi", "bn", "pl", "it", "el", "fa", "am", "sw", "ase",
]  # fmt: skip


# pycountry's names are the standard's ("Haitian", "Kabuverdianu", "Modern Greek
# (1453-)"); show the names that patients and navigators use.
PREFERRED_NAMES = {
    "ht": "Haitian Creole",
    "kea": "Cape Verdean Creole",
    "zh": "Chinese (Mandarin)",
    "yue": "Chinese (Cantonese)",
    "ne": "Nepali",
    "el": "Greek",
    "sw": "Swahili",
}


@lru_cache(maxsize=2048)
def _lookup(code: str):
    code = code.strip().lower()
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code)
    if len(code) == 3:
        return pycountry.languages.get(alpha_3=code)
    return None


def is_language_code(code: str) -> bool:
    return bool(code) and _lookup(code) is not None


def language_name(code: str) -> str:
    language = _lookup(code) if code else None
    if language is None:
        return code
    return PREFERRED_NAMES.get(code, language.name)


def validate_language_code(value: str) -> None:
    if not is_language_code(value):
        raise ValidationError(
            f"“{value}” is not an ISO 639 language code (e.g. 'en', 'es', 'ht').",
            code="invalid_language",
        )


def common_language_choices() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in COMMON_LANGUAGE_CODES]
