"""Reading a patient's SMS as one keyword, or as none.

A text acts only when it is the keyword alone, give or take case, accents,
spaces, punctuation, emoji and a few words of politeness: "oui", "Oui !",
"OUI merci" are OUI; "Annulé", "annulez svp" are ANNULER; "Stop", "ARRÊT"
are STOP.  Anything more ("oui mais pas mardi", "je voudrais annuler
jeudi") is not a keyword: it asks something a person should answer, so the
patient is given the practice's number rather than an action guessed from
one word.  Two different keywords in one text ("STOP ANNULER") are none.

Decisions, documented for patients in docs/sms-replies.md:

- ANNULER also takes "annule", "annulé(e)", "annulez" and "annulation":
  phones auto-correct the infinitive, and none of them can mean anything but
  "cancel" in a reply to a reminder;
- STOP takes "arret", "arrêt", "arrêter" and "stopper" (the French wording
  of the same request); START lifts it (the convention of French SMS
  services; "ARRET"/"STOP" to end, "START" to resume).
"""

from __future__ import annotations

import unicodedata

OUI, ANNULER, STOP, START = "OUI", "ANNULER", "STOP", "START"
#: Longer texts are no keyword (and are not read further): Twilio's limit is 1,600.
MAX_CHARS = 1600

_WORDS = {
    "oui": OUI,
    "annuler": ANNULER, "annule": ANNULER, "annulee": ANNULER, "annulez": ANNULER,
    "annulation": ANNULER,
    "stop": STOP, "arret": STOP, "arreter": STOP, "stopper": STOP,
    "start": START,
}  # fmt: skip
#: Words that may surround a keyword without changing what it asks.
_POLITE = frozenset({
    "merci", "beaucoup", "bonjour", "bonsoir", "svp", "stp", "s", "il", "vous", "plait",
    "cordialement", "bien", "a", "bientot", "madame", "monsieur", "docteur", "dr", "bonne",
    "journee", "soiree",
})  # fmt: skip


def words(body: str) -> list[str]:
    """The text's words, lower case, without accents, punctuation, symbols or emoji."""
    decomposed = unicodedata.normalize("NFKD", body)
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn":  # a combining accent: é → e
            continue
        kept.append(char.casefold() if category[0] in "LN" else " ")
    return "".join(kept).split()


def keyword(body: str) -> str | None:
    """The keyword a text is (:data:`OUI`, :data:`ANNULER`, :data:`STOP`, :data:`START`)."""
    if len(body) > MAX_CHARS:
        return None
    found: set[str] = set()
    for word in words(body):
        if word in _WORDS:
            found.add(_WORDS[word])
        elif word not in _POLITE:
            return None
    return found.pop() if len(found) == 1 else None
