"""Each role's home page shows its worklist."""

from __future__ import annotations

from datetime import date

from tests.factories import make_referral, make_user
from tests.html import soup, text
from tracker.cases.models import Urgency
from tracker.web.permissions import Role


def listed(page, section_id: str) -> list[str]:
    section = page.find(id=section_id).find_parent("section")
    return [link.get_text(strip=True) for link in section.select("li a")]


def test_coordinator_sees_drafts_and_waiting_referrals_urgent_then_oldest(client, auth):
    old = make_referral(referral_on=date(2026, 9, 1))
    urgent = make_referral(referral_on=date(2026, 11, 1), urgency=Urgency.URGENT)
    recent = make_referral(referral_on=date(2026, 10, 1))
    draft = make_referral(question=None)
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    page = soup(client.get("/"))
    assert listed(page, "home-waiting") == [urgent.case_number, old.case_number, recent.case_number]
    assert listed(page, "home-drafts") == [draft.case_number]
    assert "1 field missing" in text(page)


def test_a_referrer_sees_their_own_referrals(client, auth):
    radiologist = make_user(roles={Role.RADIOLOGIST})
    mine = make_referral(referrer_id=radiologist.id)
    make_referral()
    auth.login_as(radiologist)
    page = soup(client.get("/"))
    assert listed(page, "home-mine") == [mine.case_number]
    assert page.find(id="home-drafts") is None


def test_a_person_with_several_roles_sees_each_panel_once(client, auth):
    auth.login_as(make_user(roles={Role.RADIOLOGIST, Role.CLINICIAN, Role.COORDINATOR}))
    page = soup(client.get("/"))
    assert len(page.find_all(id="home-mine")) == 1
    assert page.find(id="home-waiting") is not None


def test_an_admin_sees_the_administration_panel(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}))
    page = soup(client.get("/"))
    assert page.find(id="home-admin") is not None
    assert page.find(id="home-mine") is None
