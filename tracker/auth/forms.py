"""Forms of the login page and of the account administration pages."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from tracker.auth.directory import directory_configured
from tracker.auth.settings import SESSION_MAX_HOURS
from tracker.core.address import FormOfAddress
from tracker.core.specialties import Specialty
from tracker.web.forms import (
    EnumCheckboxField,
    EnumRadioField,
    EnumSelectField,
    Form,
    OnceForm,
    VersionedForm,
    email_address,
)
from tracker.web.permissions import Role


class LoginForm(Form):
    #: An e-mail, or with a hospital directory the hospital user name too.
    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me logged in when the browser closes"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if directory_configured():
            self.email.label.text = _("Hospital user name or e-mail")
            self.email.description = _(
                "The user name and password you use on the hospital's computers."
            )
        self.remember.description = _(
            "Only on a computer that is yours alone. The login still ends after "
            "%(hours)d hours, or sooner when unused.",
            hours=SESSION_MAX_HOURS.value,
        )


def _form_of_address_field() -> EnumRadioField:
    return EnumRadioField(
        _l("Form of address"),
        enum=FormOfAddress,
        # Left out of a form sent by a script: as it was (unstated on a new account).
        default=FormOfAddress.UNSPECIFIED,
        description=_l(
            "In French, roles and functions agree with it: "
            "“Coordinatrice” or “Coordinateur”. Unstated, they stay as they are."
        ),
    )


class ProfileForm(VersionedForm):
    """What the person says about themselves."""

    form_of_address = _form_of_address_field()


class _AccountFields(Form):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254), email_address],
        description=_l("Used to log in and to receive reminders."),
    )
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    specialty = EnumSelectField(_l("Specialty"), enum=Specialty)
    form_of_address = _form_of_address_field()
    roles = EnumCheckboxField(
        _l("Roles"),
        enum=Role,
        description=_l("A person may hold several roles."),
    )


def _new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )


class _NewPassword:
    """Says the site's minimum length beside the new password field."""

    password: Any  # the form's own field

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.password.description = _(
            "At least %(n)d characters; a sentence is easier to remember.",
            n=current_app.config["PASSWORD_MIN_LENGTH"],
        )


def _confirmation_field() -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class UserCreateForm(_NewPassword, _AccountFields, OnceForm):
    password = _new_password_field(_l("Password"))
    confirm = _confirmation_field()


class UserEditForm(_AccountFields, VersionedForm):
    pass


class PasswordResetForm(_NewPassword, Form):
    password = _new_password_field(_l("New password"))
    confirm = _confirmation_field()


class PasswordChangeForm(_NewPassword, Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password_field(_l("New password"))
    confirm = _confirmation_field()


class EmailPreferencesForm(VersionedForm):
    email_followup_digest = BooleanField(
        _l("Daily summary of my follow-ups due"),
        description=_l("Sent in the morning when some of your follow-ups are due or overdue."),
    )
    email_meeting_reminders = BooleanField(
        _l("Reminders of coming meetings"),
        description=_l("When you chair, coordinate or present, or referred a case on the agenda."),
    )
    email_eligible_cases = BooleanField(
        _l("My patients who become eligible for re-discussion"),
    )
    email_draft_reminders = BooleanField(_l("Reminders of my referrals still in draft"))
    email_meeting_minutes = BooleanField(
        _l("After each meeting, what it decided"),
        description=_l(
            "For your cases on its agenda; and its summary when you coordinate the meeting."
        ),
    )


def _code_field(label: Any, description: Any = None) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(), Length(max=40)],
        description=description,
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "none",
            "spellcheck": "false",
        },
    )


class LoginCodeForm(Form):
    """The second step of a login with a second factor."""

    code = _code_field(
        _l("Code"),
        _l("The 6 digits your authenticator app shows now, or one of your recovery codes."),
    )


class SecondFactorConfirmForm(Form):
    code = _code_field(_l("Code shown by the app"))


class SecondFactorCodeForm(Form):
    """New recovery codes, against a code."""

    code = _code_field(_l("Code from the app or a recovery code"))


class SecondFactorOffForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    code = _code_field(_l("Code from the app or a recovery code"))


class DirectoryGroupForm(Form):
    """A directory group and what its members receive."""

    group_dn = StringField(
        _l("Group (distinguished name)"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("For example CN=RCP-Radiologues,OU=Groupes,DC=chu,DC=fr"),
    )
    role = EnumSelectField(_l("Role"), enum=Role, blank=True)
    specialty = EnumSelectField(_l("Specialty"), enum=Specialty, blank=True)
