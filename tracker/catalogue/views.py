"""Admin pages for the indication and technique lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tracker.catalogue import services
from tracker.catalogue.forms import (
    IndicationCreateForm,
    IndicationEditForm,
    TechniqueCreateForm,
    TechniqueEditForm,
)
from tracker.catalogue.models import Indication, Technique
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.extensions import db
from tracker.web.handlers import conflict_of, edit_status, form_status, saved_before, saving
from tracker.web.permissions import Role, require_role

bp = Blueprint("catalogue", __name__, url_prefix="/admin/catalogue")


@dataclass(frozen=True)
class Kind:
    model: Any
    form: Any
    #: The same form with a one-time key, for a new entry.
    create_form: Any
    title: Any
    #: What a one-time key records it created.
    once_kind: str


KINDS = {
    "indications": Kind(
        Indication, IndicationEditForm, IndicationCreateForm, _l("Indications"), "indication"
    ),
    "techniques": Kind(
        Technique, TechniqueEditForm, TechniqueCreateForm, _l("Techniques"), "technique"
    ),
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        abort(404)
    return KINDS[kind]


def _entry_or_404(kind: Kind, entry_id: int) -> Any:
    return db.get_or_404(kind.model, entry_id)


@bp.route("/")
@require_role(Role.ADMIN)
@shows_no_patient_data
def index() -> Any:
    return redirect(url_for("catalogue.entries", kind="indications"))


@bp.route("/<kind>")
@require_role(Role.ADMIN)
@shows_no_patient_data
def entries(kind: str) -> str:
    spec = _kind(kind)
    return render_template(
        "catalogue/entries.html",
        kind=kind,
        spec=spec,
        kinds=KINDS,
        entries=services.all_entries(spec.model),
    )


@bp.route("/<kind>/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def create(kind: str) -> Any:
    spec = _kind(kind)
    form = spec.create_form()
    if form.validate_on_submit():
        if saved_before(form):
            return redirect(url_for("catalogue.entries", kind=kind))
        with saving(form) as saved:
            entry = services.add_entry(
                spec.model,
                name_en=form.name_en.data,
                name_fr=form.name_fr.data,
                **form.extra_values(),
            )
            remember(form.once_key.data, spec.once_kind, entry.id, user_id=current_user.id)
        if saved.ok:
            flash(_("“%(name)s” added.", name=entry.name), "success")
            return redirect(url_for("catalogue.entries", kind=kind))
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(url_for("catalogue.entries", kind=kind))
    return render_template(
        "catalogue/entry_form.html", form=form, kind=kind, spec=spec, entry=None
    ), form_status(form)


@bp.route("/<kind>/<int:entry_id>/edit", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def edit(kind: str, entry_id: int) -> Any:
    spec = _kind(kind)
    entry = _entry_or_404(spec, entry_id)
    form = spec.form(obj=entry)
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_entry(
                entry,
                name_en=form.name_en.data,
                name_fr=form.name_fr.data,
                expected_version=form.expected_version(),
                **form.extra_values(),
            )
        if saved.ok:
            flash(_("“%(name)s” saved.", name=entry.name), "success")
            return redirect(url_for("catalogue.entries", kind=kind))
        conflict = conflict_of(saved, form, entry)
    return render_template(
        "catalogue/entry_form.html",
        form=form,
        kind=kind,
        spec=spec,
        entry=entry,
        conflict=conflict,
    ), edit_status(form, conflict)


@bp.route("/<kind>/<int:entry_id>/retire", methods=["POST"])
@require_role(Role.ADMIN)
def retire(kind: str, entry_id: int) -> Any:
    entry = _entry_or_404(_kind(kind), entry_id)
    with saving() as saved:
        services.retire_entry(entry)
    if saved.ok:
        flash(
            _(
                "“%(name)s” is retired: it stays on existing cases but is no longer offered.",
                name=entry.name,
            ),
            "success",
        )
    return redirect(url_for("catalogue.entries", kind=kind))


@bp.route("/<kind>/<int:entry_id>/restore", methods=["POST"])
@require_role(Role.ADMIN)
def restore(kind: str, entry_id: int) -> Any:
    entry = _entry_or_404(_kind(kind), entry_id)
    with saving() as saved:
        services.restore_entry(entry)
    if saved.ok:
        flash(_("“%(name)s” is offered again.", name=entry.name), "success")
    return redirect(url_for("catalogue.entries", kind=kind))
