"""How a patient may be reached: phone numbers read as people write them and
stored as E.164, e-mail addresses checked, numbers written back for reading.

Pure functions, no database. A number is read with the hospital's region
(France) as the default, so "06 12 34 56 78", "0612345678", "+33 6 12 34 56 78"
and "0033 6 12 34 56 78" are the same number, "+33612345678"; a number of
another country is written with its country code ("+44 20 7946 0958"). What
``phone_display`` shows can be typed back and is read as the same number.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date
from typing import Any

import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.errors import DomainError

#: The region of numbers written without a country code.
DEFAULT_REGION = "FR"
#: The longest number E.164 allows: "+" and 15 digits.
E164_LENGTH = 16
#: Longer than any number written with spaces and dots: past this, not a number.
MAX_TYPED_PHONE = 40
#: RFC 5321's limit on an address that can be delivered.
MAX_EMAIL = 254


class ContactChannel(LabelledEnum):
    """How the patient prefers to be contacted."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"


with_labels(
    ContactChannel,
    {
        ContactChannel.PHONE: _l("Phone call"),
        ContactChannel.SMS: _l("Text message (SMS)"),
        ContactChannel.EMAIL: _l("E-mail"),
    },
)


class ContactLanguage(LabelledEnum):
    """The language the patient prefers to be spoken or written to in."""

    FR = "fr"
    EN = "en"


with_labels(ContactLanguage, {ContactLanguage.FR: _l("French"), ContactLanguage.EN: _l("English")})

#: What people write in a number besides digits: spaces, dots, dashes,
#: brackets, slashes and the "+" of a country code. Letters are refused:
#: the library would read "O" as a 6 (phone keypad letters), a silent error.
_PHONE_CHARACTERS = re.compile(r"\+?[0-9 .()/\-]+")


def read_phone(text: str, field: str | None = None, region: str = DEFAULT_REGION) -> str:
    """The number ``text`` as E.164 ("+33612345678").

    Raises ``DomainError`` (on ``field``) with what is wrong: not a number
    (letters, an extension, which E.164 cannot keep), or a number that cannot
    exist in its country's numbering plan.
    """
    # Full-width digits (typed with some keyboards) and non-breaking spaces
    # become plain ones.
    typed = unicodedata.normalize("NFKC", text).strip()
    if len(typed) > MAX_TYPED_PHONE or not _PHONE_CHARACTERS.fullmatch(typed):
        raise DomainError(_unreadable(), field)
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        raise DomainError(_unreadable(), field) from None
    if not phonenumbers.is_valid_number(number):
        raise DomainError(_impossible(number), field)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _unreadable() -> Any:
    return _l(
        "This is not a phone number: write it as 06 12 34 56 78, or with its "
        "country code, such as +44 20 7946 0958."
    )


def _impossible(number: PhoneNumber) -> Any:
    if number.country_code == phonenumbers.country_code_for_region(DEFAULT_REGION):
        return _l(
            "This French number cannot exist: check its digits (ten digits, "
            "such as 06 12 34 56 78)."
        )
    return _l(
        "This number cannot exist with the country code +%(code)d: check its digits "
        "and the country code.",
        code=number.country_code,
    )


def _parsed(e164: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException:
        return None


@functools.lru_cache(maxsize=4096)
def phone_display(e164: str | None) -> str:
    """A stored number as people read it: the national form for a French number
    ("06 12 34 56 78"), the international form otherwise ("+44 20 7946 0958").
    Empty for no number; anything unreadable is shown as stored. Kept for the
    numbers seen (a worklist shows one or two a row; parsing is the cost)."""
    if not e164:
        return ""
    number = _parsed(e164)
    if number is None:
        return e164
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def is_mobile(e164: str) -> bool:
    """Whether a stored number can receive text messages (a mobile, or a
    number its country does not tell apart from one)."""
    number = _parsed(e164)
    return number is not None and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


# E-mail: a patient's address is on the public internet, so its domain has a
# dot ("name@hospital" is a typing mistake, not an intranet address).
_LOCAL_PART = re.compile(r"[^@\s<>()\[\]\\,;:\"]{1,64}")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def read_email(text: str, field: str | None = None) -> str:
    """An e-mail address, trimmed, its domain in lower case.

    Raises ``DomainError`` (on ``field``): an address without a domain, with an
    incomplete domain, or that is not an address at all.
    """
    address = text.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    if not domain:
        raise DomainError(
            _l(
                "This e-mail address has no domain: write it in full, such as "
                "jeanne.dupont@example.fr."
            ),
            field,
        )
    if len(address) > MAX_EMAIL or not _LOCAL_PART.fullmatch(local):
        raise DomainError(
            _l("This is not an e-mail address: write it as jeanne.dupont@example.fr."), field
        )
    domain = domain.lower()
    if not _domain_is_complete(domain):
        raise DomainError(
            _l(
                "The domain after the @ is incomplete or not valid: write it in full, "
                "such as example.fr."
            ),
            field,
        )
    return f"{local}@{domain}"


def _domain_is_complete(domain: str) -> bool:
    try:
        # Accented domains ("hôpital.fr") are written in ASCII for the check.
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    return (
        len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and _TOP_LEVEL.fullmatch(labels[-1]) is not None
    )


def online_channel(
    consent_on: date | None,
    channel: ContactChannel | None,
    phones: list[str],
    email: str | None,
    *,
    sms: bool = True,
) -> ContactChannel | None:
    """How a patient receives online questionnaires (DOMAIN "Patient-reported
    follow-up"), or None when they do not: they agreed to be contacted and prefer
    e-mail, with an address, or text messages, with a mobile number, where the
    site sends text messages (``sms``)."""
    if consent_on is None:
        return None
    if channel is ContactChannel.EMAIL and email:
        return channel
    if channel is ContactChannel.SMS and sms and any(is_mobile(phone) for phone in phones):
        return channel
    return None


def channel_problem(
    channel: ContactChannel | None, phones: list[str], email: str | None
) -> Any | None:
    """Why the patient cannot be reached the way they prefer, or None."""
    if channel is ContactChannel.EMAIL and not email:
        return _l("Add the patient's e-mail address, or choose another way to contact them.")
    if channel is ContactChannel.PHONE and not phones:
        return _l("Add the patient's phone number, or choose another way to contact them.")
    if channel is ContactChannel.SMS and not any(is_mobile(phone) for phone in phones):
        return _l(
            "Text messages need a mobile number: add one, or choose another way to contact them."
        )
    return None
