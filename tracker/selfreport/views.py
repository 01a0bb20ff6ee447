"""The team's side of patient-reported follow-up: a case's invitations, resend
one, revoke it, or read its link to the patient on the phone; the owner's home
panel of pains reported back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.cases.models import Referral
from tracker.core.time import local_today, utcnow
from tracker.extensions import db
from tracker.selfreport import queries, services
from tracker.selfreport.models import Invitation
from tracker.selfreport.permissions import MANAGERS, can_manage_invitation
from tracker.selfreport.rules import LIVE
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
    return redirect(
        url_for("cases.show", referral_id=invitation.referral_id, _anchor="invitations")
    )


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
            went = services.resend(invitation, by=current_user)
        if saved.ok and went:
            flash(_("The invitation was sent again, with the same link."), "success")
        elif saved.ok:
            flash(
                _("The message could not be sent: %(error)s", error=invitation.last_error or ""),
                "danger",
            )
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


# --- on the case page and the home page ----------------------------------------------


def case_section(referral: Referral) -> dict[str, Any]:
    """The case's invitations, each with what the team may do with it now."""
    now = utcnow()
    rows = []
    for invitation in queries.case_invitations(referral.id):
        may_manage = can_manage_invitation(current_user, invitation)
        usable = services.why_not(invitation, now) is None
        rows.append(
            {
                "invitation": invitation,
                "locked": invitation.locked_at is not None,
                "can_resend": may_manage and services.may_resend(invitation, now),
                "can_revoke": may_manage
                and invitation.status in LIVE
                and invitation.locked_at is None,
                "can_read_link": may_manage and usable,
            }
        )
    return {"rows": rows}


def owner_panel(user: Any) -> dict[str, Any]:
    """What the owner's patients reported online that needs a call: a pain back
    (the owner was e-mailed too), or a link locked after wrong birth dates."""
    return {
        "pains_back": queries.pains_back(user.id, local_today()),
        "locked": queries.locked_links(user.id, utcnow()),
        "days": queries.ALERT_DAYS,
    }
