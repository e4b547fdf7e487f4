"""Key 9 and the words of urgency reach the urgent route from any question of any flow.

The engine asks this module about every Gather result before the waiting
node sees it, so no node has to offer the urgency itself.  What counts:

- a key entry of just ``9`` (``#`` aside), at any menu or question;
- at a multi-digit entry whose valid answers never start with 9 (a date of
  birth, a French phone number, a day and month), a ``9`` keyed first:
  Twilio only returns the entry once it is complete or the caller pauses, so
  "9" then a pause, or "9" then anything, both mean urgency;
- the urgency intent's words in the speech result (``intents.urgent`` in the
  prompt catalogue, extended by the practice's ``urgent_words``), except
  where the caller's words are content (a spoken message, a name): there
  they are kept as said, and only the key counts.

A call already on the urgent route is left where it is: pressing 9 again
does not ring the same people twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.config.prompts import Catalogue, fold

URGENT_KEY = "9"
URGENT_INTENT = "urgent"
URGENT_FLOW = "urgent"  # the flow file every urgency leads to (flows/urgent.yaml)
URGENT_ROUTE = "@" + URGENT_FLOW
# "Ce n'est pas urgent" says the word and means the opposite.
NOT_URGENT = ("pas urgent", "pas une urgence", "pas d urgence", "rien d urgent")


@dataclass(frozen=True)
class BargeIn:
    """What may interrupt the question a node is waiting on."""

    key: bool = True  # an entry of just 9
    words: bool = True  # the urgency words in the speech result
    nine_first: bool = False  # a multi-digit entry no valid answer of which starts with 9


ANSWER = BargeIn()  # a menu or a question: keys and words
ENTRY = BargeIn(nine_first=True)  # a date, a number: no valid answer starts with 9
WORDS = BargeIn(words=False)  # the caller's words are content (a message, a name)
CAPTURE = BargeIn(key=False, words=False)  # a message being taken: every key ends it


def asked(params: Mapping[str, str], catalogue: Catalogue, barge_in: BargeIn) -> bool:
    """Whether this Gather result asks for the urgent route."""
    keys = params.get("Digits", "")[:20].replace("#", "").strip()
    nine = keys == URGENT_KEY or (barge_in.nine_first and keys.startswith(URGENT_KEY))
    if keys and barge_in.key and nine:
        return True
    speech = params.get("SpeechResult", "")[:500]
    return bool(speech) and barge_in.words and says_urgent(speech, catalogue)


def says_urgent(speech: str, catalogue: Catalogue) -> bool:
    """The words of urgency are in ``speech``, and not denied ("ce n'est pas urgent")."""
    if any(f" {phrase} " in f" {fold(speech)} " for phrase in NOT_URGENT):
        return False
    return catalogue.match_intent(speech, [URGENT_INTENT]) == URGENT_INTENT
