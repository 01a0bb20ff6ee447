"""Reading and showing a patient's phone numbers and e-mail: pure rules, no database."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.cases.contact import (
    ContactChannel,
    channel_problem,
    is_mobile,
    phone_display,
    read_email,
    read_phone,
)
from tracker.core.errors import DomainError

MOBILE = "+33612345678"


@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "(06) 12 34 56 78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "  06 12 34 56 78  ",
        "06\u00a012\u00a034\u00a056\u00a078",  # non-breaking spaces, pasted from a letter
        "\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width digits
    ],
)
def test_french_numbers_however_written_are_one_e164_number(typed):
    assert read_phone(typed) == MOBILE


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 202 555 0143", "+12025550143"),
        ("01 99 00 12 34", "+33199001234"),
        ("04 72 11 22 33", "+33472112233"),
    ],
)
def test_landlines_and_numbers_abroad_are_read_with_their_country(typed, e164):
    assert read_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("06 12 34", "This French number cannot exist"),
        ("06 12 34 56 78 90", "This French number cannot exist"),
        ("00 00 00 00 00", "This French number cannot exist"),
        ("112", "This French number cannot exist"),
        ("+44 20 7946", "cannot exist with the country code +44"),
        ("06 12 34 56 7O", "This is not a phone number"),  # the letter O, read as 6 otherwise
        ("tel:+33612345678", "This is not a phone number"),
        ("call me", "This is not a phone number"),
        ("06 12 + 34 56 78", "This is not a phone number"),
        ("()", "This is not a phone number"),
        ("+", "This is not a phone number"),
        ("0" * 41, "This is not a phone number"),
        ("06 12 34 56 78 ext. 12", "This is not a phone number"),  # E.164 has no extension
    ],
)
def test_unreadable_and_impossible_numbers_say_what_is_wrong(typed, message):
    with pytest.raises(DomainError) as refused:
        read_phone(typed, "phone_2")
    assert message in str(refused.value.message)
    assert refused.value.field == "phone_2"


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        (MOBILE, "06 12 34 56 78"),
        ("+33199001234", "01 99 00 12 34"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+12025550143", "+1 202-555-0143"),
        (None, ""),
        ("", ""),
        ("not a number", "not a number"),
    ],
)
def test_numbers_are_shown_nationally_when_french_and_with_their_country_code_otherwise(
    e164, shown
):
    assert phone_display(e164) == shown


def test_mobiles_take_text_messages_and_landlines_do_not():
    assert is_mobile(MOBILE)
    assert not is_mobile("+33199001234")
    assert not is_mobile("garbage")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("jeanne.dupont@example.fr", "jeanne.dupont@example.fr"),
        ("  Jeanne.Dupont@Example.FR ", "Jeanne.Dupont@example.fr"),
        ("j+rcp@mail.example.co.uk", "j+rcp@mail.example.co.uk"),
        ("jean@hôpital.fr", "jean@hôpital.fr"),
    ],
)
def test_e_mail_addresses_are_kept_as_typed_with_the_domain_in_lower_case(typed, stored):
    assert read_email(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("jeanne.dupont", "has no domain"),
        ("jeanne.dupont@", "has no domain"),
        ("jeanne@gmail", "domain after the @ is incomplete"),
        ("jeanne@gmail.c", "domain after the @ is incomplete"),
        ("jeanne@-gmail.com", "domain after the @ is incomplete"),
        ("jeanne@gmail..com", "domain after the @ is incomplete"),
        ("@example.fr", "not an e-mail address"),
        ("jeanne dupont@example.fr", "not an e-mail address"),
        ("a@b@example.fr", "not an e-mail address"),
        ("<jeanne>@example.fr", "not an e-mail address"),
        ("j" * 65 + "@example.fr", "not an e-mail address"),
    ],
)
def test_an_e_mail_without_a_domain_or_with_a_broken_one_is_refused(typed, message):
    with pytest.raises(DomainError) as refused:
        read_email(typed, "email")
    assert message in str(refused.value.message)
    assert refused.value.field == "email"


@pytest.mark.parametrize(
    ("channel", "phones", "email", "problem"),
    [
        (None, [], None, None),
        (ContactChannel.PHONE, ["+33199001234"], None, None),
        (ContactChannel.PHONE, [], "a@example.fr", "Add the patient's phone number"),
        (ContactChannel.SMS, ["+33199001234", MOBILE], None, None),
        (ContactChannel.SMS, ["+33199001234"], None, "Text messages need a mobile number"),
        (ContactChannel.EMAIL, [MOBILE], "a@example.fr", None),
        (ContactChannel.EMAIL, [MOBILE], None, "Add the patient's e-mail address"),
    ],
)
def test_the_preferred_way_needs_what_it_uses(channel, phones, email, problem):
    found = channel_problem(channel, phones, email)
    if problem is None:
        assert found is None
    else:
        assert problem in str(found)


# --- properties: a number read once is read the same ever after ---------------------------

#: Ways people write the digits of a French number (national form "0X XX XX XX XX").
FRENCH_FORMS = [
    lambda d: d,
    lambda d: " ".join(d[i : i + 2] for i in range(0, 10, 2)),
    lambda d: ".".join(d[i : i + 2] for i in range(0, 10, 2)),
    lambda d: "+33 " + d[1:],
    lambda d: "0033" + d[1:],
    lambda d: "+33 (0)" + d[1:],
]


@st.composite
def typed_french_numbers(draw):
    digits = (
        "0"
        + draw(st.sampled_from("123456789"))
        + draw(st.text("0123456789", min_size=8, max_size=8))
    )
    return draw(st.sampled_from(FRENCH_FORMS))(digits)


def _region_numbers():
    """A valid number of every region the library knows, in each way it writes them."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        number = phonenumbers.example_number(region)
        if number is None:
            continue
        for form in (
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        ):
            found.append(phonenumbers.format_number(number, form))
    return found


REGION_NUMBERS = _region_numbers()


def _read(typed):
    try:
        return read_phone(typed)
    except DomainError:
        return None


@settings(max_examples=500)
@given(st.one_of(typed_french_numbers(), st.sampled_from(REGION_NUMBERS), st.text(max_size=25)))
def test_reading_a_stored_number_again_gives_the_same_number(typed):
    stored = _read(typed)
    if stored is not None:
        assert stored.startswith("+")
        assert len(stored) <= 16
        assert read_phone(stored) == stored


@settings(max_examples=500)
@given(st.one_of(typed_french_numbers(), st.sampled_from(REGION_NUMBERS)))
def test_what_is_shown_is_read_back_as_the_same_number(typed):
    """The form shows numbers as ``phone_display`` writes them: saving the
    form unchanged must not change a number."""
    stored = _read(typed)
    if stored is not None:
        assert read_phone(phone_display(stored)) == stored


@given(typed_french_numbers())
def test_every_way_of_writing_a_french_number_is_the_same_number(typed):
    digits = "".join(ch for ch in typed if ch.isdigit())
    national = "0" + digits[-9:]
    assert _read(typed) == _read(national)
