"""The team's side of patient-reported follow-up: resend an invitation, revoke
it, or read its link to the patient on the phone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.extensions import db
from tracker.selfreport import services
from tracker.selfreport.models import Invitation
from tracker.selfreport.permissions import MANAGERS, can_manage_invitation
from tracker.web.forms import ConfirmForm
from tracker.web.handlers import saving
from tracker.web.permissions import require_role

bp = Blueprint("invitations", __name__)


def _invitation(invitation_id: int) -> Invitation:
    invitation = db.get_or_404(Invitation, invitation_id)
    if not can_manage_invitation(current_user, invitation):
        abort(403)
    return invitation


def _back(invitation: Invitation) -> Any:
    return redirect(url_for("cases.show", referral_id=invitation.referral_id, _anchor="followup"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@require_role(*MANAGERS)
def revoke(invitation_id: int) -> Any:
    invitation = _invitation(invitation_id)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.revoke(invitation, by=current_user)
        if saved.ok:
            flash(_("The link no longer works."), "success")
    return _back(invitation)


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@require_role(*MANAGERS)
def resend(invitation_id: int) -> Any:
    invitation = _invitation(invitation_id)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.resend(invitation, by=current_user)
        if saved.ok:
            flash(_("The invitation was sent again, with the same link."), "success")
    return _back(invitation)


@bp.route("/invitations/<int:invitation_id>/link", methods=["POST"])
@require_role(*MANAGERS)
def link(invitation_id: int) -> Any:
    """The link shown once, to read to the patient (the reading is audited)."""
    invitation = _invitation(invitation_id)
    if not ConfirmForm().validate_on_submit():
        return _back(invitation)
    with saving() as saved:
        address = services.link_to_read(invitation, by=current_user)
    if not saved.ok:
        return _back(invitation)
    return render_template("selfreport/link.html", invitation=invitation, address=address)
