"""Speech-recognition text brought to one plain form, for the catalogue's words to meet it.

Lower case, no accents, no punctuation, one space between words: « Rendez-vous
à 14h30 ! » and « rendez vous a 14 h 30 » read alike. Numbers said in words
become digits through text2num, in a second form kept for dates and times (the
first keeps « un rendez-vous » as it is, so a catalogue's words need no digits).
"""

from __future__ import annotations

import re
import unicodedata

from text_to_num import alpha2digit

_NOT_WORD = re.compile(r"[^a-z0-9]+")
# « 14h30 », « 1er », « 14:30 » : digits and letters glued together are split apart
# (« 14 h 30 », « 1 er », « 14 30 »), whatever the language.
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


def plain(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces."""
    lowered = text.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFD", lowered)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = _DIGIT_LETTER.sub(" ", bare)
    return " ".join(_NOT_WORD.sub(" ", bare).split())


def digits(text: str, language: str) -> str:
    """``text`` with its numbers in digits (« quinze jours » → « 15 jours »), then plain.

    threshold=0: small numbers too (« le deux », « vers deux heures »); « un »
    and « une » become 1 as well, which only the dates and times read.
    """
    try:
        converted = alpha2digit(text.lower(), language.split("-")[0], threshold=0)
    except Exception:  # an unsupported language or an odd input: the words as they are
        converted = text
    return plain(converted)


def rewrite(text: str, pattern: re.Pattern[str] | None, table: dict[str, str]) -> str:
    """Replace whole words or phrases of a plain ``text`` by the catalogue's spelling."""
    if pattern is None:
        return text
    return pattern.sub(lambda m: table[m.group(0)], text)
