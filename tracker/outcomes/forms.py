"""The outcomes page's filters (a GET form: no CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from tracker.auth.models import User, UserRole
from tracker.catalogue.models import Indication, Technique
from tracker.extensions import db
from tracker.outcomes.queries import OutcomeFilters
from tracker.web.forms import Form, optional_int
from tracker.web.permissions import Role


class OutcomeFilterForm(Form):
    class Meta:
        csrf = False

    technique_id = SelectField(_l("Technique"), coerce=optional_int, validators=[Optional()])
    indication_id = SelectField(_l("Indication"), coerce=optional_int, validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])
    operator_id = SelectField(_l("Operator"), coerce=optional_int, validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        every = SelectChoice("", _("All"))
        self.technique_id.choices = [every] + [
            SelectChoice(str(entry.id), entry.name)
            for entry in db.session.scalars(select(Technique).order_by(Technique.position))
        ]
        self.indication_id.choices = [every] + [
            SelectChoice(str(entry.id), entry.name)
            for entry in db.session.scalars(select(Indication).order_by(Indication.position))
        ]
        radiologists = select(UserRole.user_id).where(UserRole.role == Role.RADIOLOGIST)
        self.operator_id.choices = [every] + [
            SelectChoice(str(user_id), name)
            for user_id, name in db.session.execute(
                select(User.id, User.full_name)
                .where(User.id.in_(radiologists))
                .order_by(User.full_name)
            )
        ]

    def validate_until(self, field: Any) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end comes before the start."))

    def filters(self) -> OutcomeFilters:
        return OutcomeFilters(
            technique_id=self.technique_id.data,
            indication_id=self.indication_id.data,
            since=self.since.data,
            until=self.until.data,
            operator_id=self.operator_id.data,
        )
