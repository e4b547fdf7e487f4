"""The canary patient: values that must never appear in clear anywhere the server writes.

tests/test_canary.py scans the raw database and the logs for them; the
suite-wide ``sms_canary`` check (tests/conftest.py) scans every SMS body a
test sends: through the REST fake, the demo's stand-in, and the answers to
patients' texts.
"""

from __future__ import annotations

import re
import unicodedata

CANARY_NUMBER = "+33698765432"
CANARY_NAME = "Zéphyrine Quenouille"
CANARY_DOB = "14031987"
CANARY_SPEECH = "rhododendron"
CANARY_MEDICATION = "ventoline"

#: What no SMS may hold: the name, the date of birth as keyed, written and said,
#: a medication and words of a message; the number in its written forms.
SMS_CANARIES = (
    CANARY_NAME, "Zéphyrine", "Quenouille",
    CANARY_DOB, "14/03/1987", "1987-03-14", "14 mars 1987", "quatorze mars",
    "mil neuf cent quatre-vingt-sept", "dix-neuf cent quatre-vingt-sept",
    CANARY_MEDICATION, CANARY_SPEECH,
    CANARY_NUMBER, "0" + CANARY_NUMBER[3:], "06 98 76 54 32",
)  # fmt: skip


def _folded(text: str) -> str:
    """Lower case, no accents, one space between words."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def _digits_joined(text: str) -> str:
    """Digits written with separators between them read as one run: 14/03/1987 → 14031987."""
    return re.sub(r"(?<=\d)[\s./-]+(?=\d)", "", text)


def sms_leaks(body: str, words: list[str] | tuple[str, ...]) -> list[str]:
    """The canary words found in an SMS body, however written (case, accents, separators)."""
    folded = _folded(body)
    joined = _digits_joined(folded)
    found = []
    for word in words:
        wanted = _folded(word)
        if wanted in folded or _digits_joined(wanted) in joined:
            found.append(word)
    return found
