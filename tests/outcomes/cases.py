"""Treated cases with readings at chosen days, for the outcomes and the evidence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from tests.factories import assess, make_procedure
from tracker.catalogue.models import Indication
from tracker.extensions import db
from tracker.followups.models import FollowUp, FollowUpKind

PERFORMED = date(2026, 4, 1)


def indication(code: str) -> Indication:
    return db.session.scalars(select(Indication).where(Indication.code == code)).one()


def treated(
    readings, *, technique_code="cryoneurolysis", baseline=8, indication_code=None, **more: Any
):
    """A procedure on 1 April 2026 and the scheduled assessments ``{days: nrs}``
    (an ``nrs`` of ``(n, True)`` says the pain is back)."""
    values = {"nrs_average": baseline}
    if indication_code:
        values["indication_id"] = indication(indication_code).id
    procedure = make_procedure(
        technique_code=technique_code, performed_on=PERFORMED, referral_values=values, **more
    )
    followups = {
        followup.offset_days: followup
        for followup in db.session.scalars(
            select(FollowUp).where(
                FollowUp.procedure_id == procedure.id, FollowUp.kind == FollowUpKind.SCHEDULED
            )
        )
    }
    for days, nrs in readings.items():
        nrs, back = nrs if isinstance(nrs, tuple) else (nrs, False)
        assess(
            procedure,
            followup=followups[days],
            assessed_on=PERFORMED + timedelta(days=days),
            nrs_average=nrs,
            pain_is_back=back,
        )
    return procedure
