"""French as the console, the digests, the prompts and the CLI write it.

One set of helpers so that every screen says the same thing the same way:
numbers by pairs ("06 11 22 33 55"), dates of birth written out ("2 avril
1975"), counts with their noun agreed ("1 appel", "0 message", "2 appels").
"""

from __future__ import annotations

from datetime import date, datetime

import phonenumbers

from callcenter.core.spoken import MONTHS

# Nouns whose plural is not the singular plus "s" (the rest take an "s").
_PLURALS = {"rendez-vous": "rendez-vous", "parcours": "parcours", "demande de rappel":
            "demandes de rappel", "appel manqué": "appels manqués"}  # fmt: skip


def phone(number: str | None, region: str = "FR") -> str:
    """A number as a French reader writes it: national by pairs at home, international abroad.

    Anything that does not parse (a withheld caller ID, a short code) is
    returned as it is: hiding it would hide what Twilio actually sent.
    """
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    if phonenumbers.region_code_for_number(parsed) == region:
        national = phonenumbers.national_significant_number(parsed)
        digits = "0" + national if region == "FR" else national
        if region == "FR" and len(digits) == 10:
            return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def long_date(day: date | str | None) -> str:
    """A date written out ("2 avril 1975", "1er mai 2026"); an unreadable value as it is."""
    if day is None or day == "":
        return ""
    if isinstance(day, str):
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            return day
    else:
        parsed = day.date() if isinstance(day, datetime) else day
    first = "1er" if parsed.day == 1 else str(parsed.day)
    return f"{first} {MONTHS[parsed.month - 1]} {parsed.year}"


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """The noun agreed with ``count``: French keeps 0 and 1 in the singular."""
    if count < 2:
        return singular
    return plural or _PLURALS.get(singular) or f"{singular}s"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 appel", "0 message", "3 urgences"."""
    return f"{count} {noun(count, singular, plural)}"


def humanised(identifier: str) -> str:
    """An identifier made readable when no label was given ("premiere-consultation")."""
    text = identifier.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]
