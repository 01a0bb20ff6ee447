"""Three stories of what a reading means, told through the services, the
outcomes (in Python and in SQL), the case's chart and the export: each has one
answer everywhere (DOMAIN "Ordering and counting readings")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests.factories import assess, make_procedure, make_user
from tests.outcomes.test_exports import download
from tracker.cases.models import Referral
from tracker.core.time import frozen_clock
from tracker.extensions import db
from tracker.followups import services
from tracker.followups.rules import Kind, Response, relief_duration
from tracker.followups.views import trajectory_of
from tracker.outcomes import queries
from tracker.outcomes.analysis import analyse
from tracker.outcomes.queries import OutcomeFilters, techniques, treated_and_scheduled
from tracker.web.permissions import Role

PERFORMED = date(2026, 4, 1)
TODAY = date(2026, 11, 20)


def treated_with(*readings):
    """Baseline 8, cryoneurolysis on 1 April; ``readings`` are
    ``(day, nrs, pain_is_back, recorded at HH:MM)`` in the order they are typed."""
    procedure = make_procedure(performed_on=PERFORMED, referral_values={"nrs_average": 8})
    for days, nrs, back, at in readings:
        on = PERFORMED + timedelta(days=days)
        with frozen_clock(datetime.combine(on, time.fromisoformat(at), tzinfo=UTC)):
            assess(procedure, assessed_on=on, nrs_average=nrs, pain_is_back=back)
    return procedure


def everywhere(procedure):
    """The verdict, the relief, and the outcomes' relief and responders in
    Python and in SQL, for this one procedure."""
    referral = db.session.get(Referral, procedure.referral_id)
    verdict = services.compute_verdict(referral, TODAY)
    session = services.sessions_for(referral)[-1]
    rows, scheduled = treated_and_scheduled(OutcomeFilters(), techniques())
    in_python = analyse(rows, scheduled, TODAY).by_technique[procedure.technique_id]
    in_sql = queries.outcomes(OutcomeFilters(), TODAY).by_technique[procedure.technique_id]
    assert (in_sql.relief_months, in_sql.relief_ended, in_sql.no_response) == (
        in_python.relief_months,
        in_python.relief_ended,
        in_python.no_response,
    )
    return verdict, relief_duration(session), in_python, in_sql


@pytest.mark.parametrize("typed", ["2 then 7", "7 then 2"])
def test_of_two_readings_on_one_day_the_one_recorded_later_is_the_latest(app, typed):
    """Baseline 8, day 30: NRS 2 recorded at 10:00 and NRS 7 at 10:05, whichever
    was typed into the tracker first: the 7 is the latest, the pain is back."""
    two = (30, 2, False, "10:00")
    seven = (30, 7, False, "10:05")
    procedure = treated_with(*((two, seven) if typed == "2 then 7" else (seven, two)))

    verdict, relief, in_python, in_sql = everywhere(procedure)
    assert verdict.kind is Kind.ELIGIBLE
    assert verdict.recurrence
    latest = next(r for r in verdict.reasons if r.code == "recurrence")
    assert latest.values["latest"] == 12.5  # 7 from 8
    # The relief started and ended that day, in Python and in SQL.
    assert relief == (30, True)
    assert [round(m * 30.44) for m in in_sql.relief_months] == [30]
    assert in_python.relief_ended == in_sql.relief_ended == [True]


def test_a_reading_saying_the_pain_is_back_is_no_response_anywhere(app, client, auth):
    """NRS 1 from 8, but the patient says the pain is back: no response for
    the verdict, the relief, the outcomes' responders, the case and the export."""
    procedure = treated_with((7, 1, True, "09:00"))

    verdict, relief, in_python, in_sql = everywhere(procedure)
    assert verdict.kind is Kind.NO_RESPONSE
    assert [r.code for r in verdict.reasons] == ["pain_back_throughout", "failed_so_far"]
    assert relief is None
    assert in_python.no_response == in_sql.no_response == 1
    assert in_python.relief_months == in_sql.relief_months == []

    referral = db.session.get(Referral, procedure.referral_id)
    _chart, rows = trajectory_of(referral)
    assert rows[-1]["category"] is Response.MINIMAL_OR_NONE

    auth.login_as(make_user(roles={Role.COORDINATOR}))
    (row,) = download(client, "/outcomes/exports/assessments.csv")
    assert (row["nrs_average"], row["pain_is_back"], row["response"]) == (
        "1",
        "yes",
        "MINIMAL_OR_NONE",
    )


def test_a_reading_on_the_day_of_the_procedure_is_charted_but_does_not_count(app, client, auth):
    """NRS 0 on the day of the procedure (the local anaesthetic): not yet, no
    assessment that counts; on the chart; no response nor relief."""
    procedure = treated_with((0, 0, False, "16:00"))

    verdict, relief, in_python, in_sql = everywhere(procedure)
    assert verdict.kind is Kind.NOT_YET
    assert [r.code for r in verdict.reasons] == ["no_counted_assessment"]
    assert relief is None
    assert in_python.no_response == in_sql.no_response == 0
    assert in_python.relief_months == in_sql.relief_months == []

    referral = db.session.get(Referral, procedure.referral_id)
    chart, rows = trajectory_of(referral)
    assert [(p.on, p.nrs) for p in chart.points if p.kind == "assessment"] == [(PERFORMED, 0)]
    assert (rows[-1]["on"], rows[-1]["category"]) == (PERFORMED, None)

    auth.login_as(make_user(roles={Role.COORDINATOR}))
    (row,) = download(client, "/outcomes/exports/assessments.csv")
    assert (row["days_after_procedure"], row["response"]) == ("0", "")
