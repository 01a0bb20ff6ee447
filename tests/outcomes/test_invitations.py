"""The outcomes page's online questionnaires: answered among sent, and how the
due time points were done (online after an e-mail or a text message, or by the
team), for the procedures the filters keep, against a count made by hand."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import assess, give_contact, make_procedure, make_user
from tests.html import soup
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.followups.models import FollowUp
from tracker.outcomes.queries import OutcomeFilters, invitation_figures
from tracker.outcomes.stats import wilson
from tracker.outcomes.views import _FIGURES
from tracker.selfreport import services, sms
from tracker.selfreport.rules import InvitationStatus
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 11, 20)
OCTOBER = date(2026, 10, 1)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


class Story:
    """One patient treated by genicular radiofrequency (week 1 and month 1 are
    due by 20 November; no regrowth check), contacted as they prefer."""

    def __init__(self, clock, performed_on: date, channel: str | None) -> None:
        self.clock = clock
        self.procedure = make_procedure(
            technique_code="radiofrequency", distance_mm=None, performed_on=performed_on
        )
        if channel:
            give_contact(
                self.procedure.referral.patient,
                email="patient@example.org",
                preferred_channel=channel,
            )
        self.followups = {
            followup.offset_days: followup
            for followup in db.session.scalars(
                select(FollowUp).where(FollowUp.procedure_id == self.procedure.id)
            )
        }

    def invited(self, days: int, on: date) -> object:
        self.clock.set(at(on))
        invitation = services.invite(self.followups[days], utcnow())
        db.session.commit()
        return invitation

    def answers(self, invitation, on: date) -> None:
        self.clock.set(at(on, 18))
        services.answer(
            invitation, {"nrs_average": 3, "nrs_now": 3, "pain_is_back": False}, utcnow()
        )
        db.session.commit()

    def team_records(self, days: int, on: date) -> None:
        self.clock.set(at(on, 11))
        assess(self.procedure, followup=self.followups[days], assessed_on=on, nrs_average=4)


@pytest.fixture
def stories(app, clock, monkeypatch):
    """Four patients treated on 1 October 2026 and one on 1 September:

    - A (e-mail): week 1 answered online; month 1 invited, the team phoned;
    - B (e-mail): week 1 invited, never done; month 1 answered online;
    - C (text messages): week 1's message refused by the gateway (not sent), the
      team phoned; month 1 answered online;
    - D (phone calls): week 1 by the team, month 1 not done;
    - E (e-mail, September): week 1 answered online, month 1 invited, not done.
    """
    app.config["SMS_URL"] = "http://127.0.0.1:9/sms"
    refusals = ["gateway answered 500"]

    def gateway(number: str, text: str) -> None:
        if refusals:
            raise sms.SmsError(refusals.pop())

    monkeypatch.setattr(sms, "send", gateway)
    try:
        a = Story(clock, OCTOBER, "EMAIL")
        b = Story(clock, OCTOBER, "EMAIL")
        c = Story(clock, OCTOBER, "SMS")
        d = Story(clock, OCTOBER, None)
        e = Story(clock, date(2026, 9, 1), "EMAIL")

        e.answers(e.invited(7, date(2026, 9, 6)), date(2026, 9, 7))
        e.invited(30, date(2026, 9, 24))
        a.answers(a.invited(7, date(2026, 10, 6)), date(2026, 10, 7))
        b.invited(7, date(2026, 10, 6))
        refused = c.invited(7, date(2026, 10, 6))
        assert refused.status is InvitationStatus.FAILED
        c.team_records(7, date(2026, 10, 8))
        d.team_records(7, date(2026, 10, 8))
        a.invited(30, date(2026, 10, 24))
        b.answers(b.invited(30, date(2026, 10, 24)), date(2026, 10, 25))
        c.answers(c.invited(30, date(2026, 10, 24)), date(2026, 10, 26))
        a.team_records(30, date(2026, 10, 31))
        clock.set(at(TODAY))
        yield
    finally:
        app.config["SMS_URL"] = None


def test_response_rate_and_completeness_by_channel_agree_with_a_hand_count(stories):
    october = invitation_figures(OutcomeFilters(since=OCTOBER), TODAY)
    # Sent by e-mail: A twice, B twice; answered: A's week 1, B's month 1.
    assert (october.sent, october.answered) == ({"EMAIL": 4, "SMS": 1}, {"EMAIL": 2, "SMS": 1})
    assert october.response("EMAIL") == wilson(2, 4)
    assert october.response() == wilson(3, 5)
    # Week 1 and month 1 of four patients are due; six were done.
    assert october.due == 8
    assert october.done_by == {"EMAIL": 2, "SMS": 1, "TEAM": 3}
    assert october.completeness("TEAM") == wilson(3, 8)
    assert october.completeness() == wilson(6, 8)
    # With September's patient: two more sent by e-mail, one answered, one more done.
    everyone = invitation_figures(OutcomeFilters(), TODAY)
    assert (everyone.sent, everyone.answered) == ({"EMAIL": 6, "SMS": 1}, {"EMAIL": 3, "SMS": 1})
    assert (everyone.due, everyone.done_by) == (10, {"EMAIL": 3, "SMS": 1, "TEAM": 3})


def cells(table, key: str) -> dict[str, list[str]]:
    return {
        row[key]: [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
        for row in table.find("tbody").find_all("tr")
    }


def test_the_page_shows_them_for_the_filtered_period(client, auth, stories):
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    _FIGURES.clear()
    page = soup(client.get("/outcomes", query_string={"since": OCTOBER.isoformat()}))
    response = cells(page.find(id="invitation-response"), "data-channel")
    low, high = wilson(2, 4).low * 100, wilson(2, 4).high * 100
    assert response["EMAIL"] == ["E-mail", "4", "2", f"50% ({low:.0f}\N{EN DASH}{high:.0f}%)"]
    assert response["SMS"][:3] == ["Text message (SMS)", "1", "1"]
    assert response["all"][:4] == ["All", "5", "3", response["all"][3]]
    assert response["all"][3].startswith("60%")
    done = cells(page.find(id="completeness-by-channel"), "data-how")
    assert [done[how][1] for how in ("EMAIL", "SMS", "TEAM", "all")] == ["2", "1", "3", "6"]
    assert done["all"][2].startswith("75%")
    assert (
        "How the 8 time points due were done"
        in page.find(id="completeness-by-channel").caption.text
    )


def test_without_invitations_the_page_says_nothing_of_them(client, auth):
    make_procedure()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    _FIGURES.clear()
    page = soup(client.get("/outcomes"))
    assert page.find(id="invitation-response") is None
