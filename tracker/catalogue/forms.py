"""Forms of the catalogue administration pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from tracker.catalogue.models import ActsOn, WearsOffBy
from tracker.core.forms import EnumSelectField


class IndicationForm(FlaskForm):
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(), Length(max=200)])


class TechniqueForm(IndicationForm):
    acts_on = EnumSelectField(_l("Acts on"), enum=ActsOn)
    wears_off_by = EnumSelectField(
        _l("Effect wears off by"),
        enum=WearsOffBy,
        description=_l(
            "Decides how retreatment is judged: nerve treatments wait for regrowth, "
            "structural ones are not expected to wear off."
        ),
    )
