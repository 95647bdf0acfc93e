"""What an inbound text asks for: opt out, opt back in, help, or a message for a person.

The opt-out words are the CTIA/FCC set that carriers and the TCPA rules treat as
revoking consent; a patient who texts any of them, in any case, with spaces or
punctuation around it, must stop hearing from us at once. Only a message that
*is* the keyword counts: "stop calling me at work" is a message for the
navigator (who will read it), not an automated opt-out of every channel.
"""

from __future__ import annotations

import enum
import re
import unicodedata


class Intent(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    MESSAGE = "message"


OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPT OUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP"})
# "OPTOUT", "OPT-OUT" and "OPT OUT" are one keyword however the words are joined.
_OPT_OUT_COMPACT = frozenset(keyword.replace(" ", "") for keyword in OPT_OUT_KEYWORDS)

# Anything that is not a letter or a digit, at either end or between words.
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Upper case, compatibility forms folded, punctuation gone, one space between words:
    " Stop! " → "STOP", "opt-out" → "OPT OUT", "ＳＴＯＰ" (full width) → "STOP"."""
    folded = unicodedata.normalize("NFKC", text)
    words = _NOT_WORD.sub(" ", folded).strip().upper()
    return words


def intent_of(text: str) -> Intent:
    words = normalise(text)
    if words in OPT_OUT_KEYWORDS or words.replace(" ", "") in _OPT_OUT_COMPACT:
        return Intent.OPT_OUT
    if words in OPT_IN_KEYWORDS:
        return Intent.OPT_IN
    if words in HELP_KEYWORDS:
        return Intent.HELP
    return Intent.MESSAGE
