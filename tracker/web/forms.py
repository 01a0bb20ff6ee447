"""Form pieces shared by every feature: the base form, enum choices, e-mail
checks, error mapping."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    widgets,
)
from wtforms.validators import StopValidation, ValidationError

from tracker.core.enums import LabelledEnum
from tracker.core.errors import DomainError
from tracker.core.fields import data_fields
from tracker.core.once import new_key

#: Invisible characters no one types (C0 controls but tab and line breaks, DEL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What an integer column holds on every database.
INT_LIMIT = 2**31 - 1
#: Dates the application can compute with; each field's own rules are narrower
#: and say so in words of their own (a birth date, a follow-up).
EARLIEST, LATEST = date(1800, 1, 1), date(2199, 12, 31)


def _storable(form: Any, field: Field) -> None:
    """What any field must hold to be stored at all, whatever its own rules.

    First in every field's chain, and it stops the chain: later checks (some
    of which query the database) never see such a value.
    """
    value = field.data
    if isinstance(value, list):
        for item in value:
            _check_storable(item)
    else:
        _check_storable(value)


def _check_storable(value: Any) -> None:
    if isinstance(value, str) and _CONTROL.search(value):
        raise StopValidation(
            _l("Remove the invisible control characters (pasted from another program?).")
        )
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int) and not -INT_LIMIT <= value <= INT_LIMIT:
        raise StopValidation(_l("This number is too large."))
    if isinstance(value, float | Decimal) and not math.isfinite(value):
        raise StopValidation(_l("Enter a number."))
    if isinstance(value, date) and not EARLIEST <= value <= LATEST:
        raise StopValidation(_l("Enter a date between 1800 and 2199."))


class Form(FlaskForm):
    """The base of every form: FlaskForm (CSRF, request data), plus a last
    check on every field that what was sent can be stored, so that hostile or
    accidental input is a message on the field, never a database error."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            field = super().bind_field(form, unbound_field, options)
            field.validators = [_storable, *field.validators]
            return field

    def values(self, of: type | None = None) -> dict[str, Any]:
        """The data of the record this form saves, as services take it: one
        entry per data field of ``of`` (a class of fields this form inherits,
        for a form that saves several records), by default of the form's own
        class. Text is trimmed (empty is None), several choices are a list,
        members of an enum in it are names."""
        return {name: plain_value(getattr(self, name)) for name in data_fields(of or type(self))}


def plain_value(field: Field) -> Any:
    """A field's data as services take it (see ``Form.values``)."""
    if isinstance(field, SelectMultipleField):
        return [item.name if isinstance(item, enum.Enum) else item for item in field.data or []]
    if isinstance(field.data, str):
        return field.data.strip() or None
    return field.data


# Hospital addresses are often on internal domains (``hopital.local``), which
# strict validators refuse; an account name only needs to be a plausible address.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s<>\"',;]{{1,64}}@{_LABEL}(?:\.{_LABEL})*$")


def email_address(form: Any, field: Field) -> None:
    value = (field.data or "").strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValidationError(_l("Enter an e-mail address such as name@hospital.org."))


#: Options already written by ``RepeatedSelect``; emptied past this many.
_OPTIONS_KEPT = 4096
_options: dict[tuple[Any, ...], Any] = {}


class RepeatedSelect(widgets.Select):
    """A select drawn on every line of a long form (an agenda's presenter for
    each of its cases): each option is written as WTForms writes it, once, and
    reused; the HTML is the same."""

    @classmethod
    def _dispatch_render_option(cls) -> Callable[[Any], Any]:
        return cls._option

    @classmethod
    def _option(cls, choice: Any) -> Any:
        if choice.render_kw:
            return cls.render_option(choice)
        label = choice.label
        # Escaping depends on the label's type (a lazy string writes itself as is).
        key = (type(choice.value), choice.value, type(label), str(label), bool(choice.selected))
        try:
            return _options[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key
            return cls.render_option(choice)
        if len(_options) >= _OPTIONS_KEPT:
            _options.clear()
        written = _options[key] = cls.render_option(choice)
        return written


def enum_choices(enum_cls: type[LabelledEnum]) -> list[SelectChoice]:
    """Options by member name; forms are built per request, so labels are translated."""
    return [SelectChoice(member.name, member.label) for member in enum_cls]


def optional_int(value: Any) -> int | None:
    """Coerce for selects of database ids where the empty option means none."""
    if value is None or value == "":
        return None
    return int(value)


def _enum_coercer(enum_cls: type[enum.Enum]) -> Callable[[Any], enum.Enum | None]:
    def coerce(value: Any) -> enum.Enum | None:
        if value is None or value == "":
            return None
        if isinstance(value, enum_cls):
            return value
        try:
            return enum_cls[str(value)]
        except KeyError:
            raise ValueError(str(_l("Not a valid choice."))) from None

    return coerce


if TYPE_CHECKING:
    # The mixin below is only ever mixed into a WTForms field.
    from wtforms import Field as _FieldMixin
else:
    _FieldMixin = object


class _EnumChoices(_FieldMixin):
    """Choices from an enum, submitted by member name, with one clear message for
    anything else (a tampered or stale form)."""

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        enum: Any,
        blank: bool = False,
        **kwargs: Any,
    ):
        choices = enum_choices(enum)
        if blank:
            choices = [SelectChoice("", "—"), *choices]
        kwargs.setdefault("choices", choices)
        super().__init__(label, validators, coerce=_enum_coercer(enum), **kwargs)
        self.enum = enum
        self.blank = blank

    def process_formdata(self, valuelist: Any) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.gettext("Not a valid choice.")) from None

    def _chosen(self) -> list[Any]:
        return [self.data] if self.data is not None else []

    def pre_validate(self, form: Any) -> None:
        members = set(self.enum)
        if any(value not in members for value in self._chosen()):
            raise ValidationError(self.gettext("Not a valid choice."))


class EnumSelectField(_EnumChoices, SelectField):
    """A select over a Python enum. With ``blank`` the first option is empty and
    leaving it means "not known yet" (``None``), for fields a draft may leave
    empty."""

    def pre_validate(self, form: Any) -> None:
        if self.data is None and not self.blank:
            raise ValidationError(self.gettext("Not a valid choice."))
        super().pre_validate(form)


class EnumRadioField(_EnumChoices, RadioField):
    """One member of an enum, as radio buttons (none chosen is ``None``)."""


class EnumCheckboxField(_EnumChoices, SelectMultipleField):
    """Several members of an enum, as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def _chosen(self) -> list[Any]:
        return list(self.data or [])


def yes_no_unknown(value: Any) -> bool | None:
    if value in (True, False):
        return value
    return {"yes": True, "no": False}.get(value)


YES_NO_UNKNOWN = [
    SelectChoice("", _l("Not stated")),
    SelectChoice("yes", _l("Yes")),
    SelectChoice("no", _l("No")),
]


class YesNoField(SelectField):
    """Yes, no, or not stated (None)."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any):
        super().__init__(label, validators, coerce=yes_no_unknown, choices=YES_NO_UNKNOWN, **kwargs)


class OnceForm(Form):
    """A form that creates something: it carries a one-time key, so that the
    same form sent twice creates one record (see ``tracker.core.once``).
    A form sent without a key gets a fresh one and is simply saved."""

    once_key = HiddenField(default=new_key)


class VersionedForm(Form):
    """A form that edits a stored record (``tracker.core.locking.Versioned``):
    it carries the version of the record it was made from, so that a save made
    from an older one is refused with what changed in between."""

    version = HiddenField()

    def expected_version(self) -> int:
        """The version the editor started from, as the page sent it. Read from
        the request itself: a form made with ``obj=`` would otherwise take the
        record's current version when the page leaves the field out. A form
        that does not say is taken as made from no version at all (0): a
        conflict."""
        sent = request.form.get(self.version.name) if has_request_context() else None
        if sent is None or not re.fullmatch(r"[0-9]{1,10}", sent):
            return 0
        return int(sent)


class ConfirmForm(Form):
    """An empty form: a confirmation button protected against CSRF."""


def web_link(form: Any, field: Field) -> None:
    """Only http(s) links: anything else (``javascript:``...) is refused."""
    value = (field.data or "").strip()
    if value and not re.match(r"^https?://[^\s]+$", value, re.IGNORECASE):
        raise ValidationError(_l("Enter a link starting with https:// (or http://)."))


def apply_domain_error(
    form: FlaskForm, error: DomainError, aliases: dict[str, str] | None = None
) -> bool:
    """Show a service's refusal on the form field it concerns (``aliases`` maps a
    service's field name to the form's, where they differ).

    Returns False when the error belongs to no field of the form, so the caller
    shows it as a page message instead.
    """
    name = (aliases or {}).get(error.field, error.field) if error.field else None
    field = getattr(form, name, None) if name else None
    if field is None:
        return False
    field.errors = [*field.errors, error.message]
    return True
