"""Phone numbers: normalisation to E.164 and withheld caller IDs.

``phonenumbers`` does the parsing, so every format a caller or a practice file
may use ("06 12 34 56 78", "+33 6…", "0033…") reaches one canonical form.
"""

from __future__ import annotations

import functools

import phonenumbers

# Sentinels carriers use when the caller ID is withheld (docs/operations/twilio.md), keypad
# spelled or as words; compared case-insensitively, with and without "+".
_WITHHELD = {
    "266696687",
    "7378742833",
    "2562533",
    "8656696",
    "86282452253",
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "unavailable",
    "blocked",
}


def is_withheld(caller: str | None) -> bool:
    """True when ``From`` carries no usable caller ID."""
    if caller is None:
        return True
    value = caller.strip().lstrip("+").lower()
    return value == "" or value in _WITHHELD


# A call's numbers are normalised by several layers (the practice called, the caller's
# blind index, identification): parsed once, the others are answered from here.  A few
# hundred entries: the calls in progress, and the practices' own numbers.
@functools.lru_cache(maxsize=512)
def normalize(number: str | None, region: str = "FR") -> str | None:
    """The E.164 form of ``number``, or ``None`` when it is not a valid number."""
    if number is None or is_withheld(number):
        return None
    if len(number) > 40:
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """Whether SMS can reach it: a landline is skipped by the senders, not failed eight times."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)  # fmt: skip
