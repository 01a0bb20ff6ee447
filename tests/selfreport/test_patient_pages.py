"""The patient pages under attack and in everyday use: no staff session read,
no script, the language switch that keeps the answers, out-of-range answers,
replays, two tabs, guessing, HTML in the comment, and every attempt audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tests.html import checked_values, field_errors, field_value, soup, text
from tests.selfreport.invited import (
    BORN,
    PERFORMED,
    at,
    born,
    invitation_of,
    link_in,
    mails,
    path_of,
    run,
)
from tracker.auth.models import UserSession
from tracker.core.audit import AuditAction, AuditEntry
from tracker.extensions import db
from tracker.followups.models import Assessment, FollowUp
from tracker.selfreport import patient, services
from tracker.selfreport.rules import InvitationStatus
from tracker.web.headers import PATIENT_POLICY
from tracker.web.permissions import Role

#: A phone set to French: what the pages go by when the link tells nothing.
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
ANSWERS = {"nrs_average": "3", "nrs_now": "2", "relief_pct": "60", "pgic": "2"}


@pytest.fixture
def link(clock, treated) -> str:
    """The path of week 1's link, its window open (French-speaking patient)."""
    run(clock, at(PERFORMED + timedelta(days=5)))
    return path_of(link_in(mails()[0]))


def proof_for(client, link: str, **headers: str) -> str:
    page = soup(client.post(link, data=born(BORN), headers=headers))
    return page.find("input", attrs={"name": "proof"})["value"]


def assessments() -> int:
    return db.session.scalar(select(func.count()).select_from(Assessment))


def entries(**where: object) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db.session.scalars(query))


def addresses(page) -> list[str]:
    """Every address a page points to: links, forms, stylesheets, images, scripts."""
    found = [a["href"] for a in page.find_all(href=True)]
    found += [form.get("action", "") for form in page.find_all("form")]
    found += [element["src"] for element in page.find_all(src=True)]
    return found


# --- the pages themselves --------------------------------------------------------------


def test_every_patient_page_runs_no_script_and_leads_nowhere_else(client, treated, link):
    procedure, _nurse = treated
    pages = {
        "landing": client.get(link),
        "stop": client.get(link + "/stop"),
        "questionnaire": client.post(link, data=born(BORN)),
        "forged": client.get("/p/" + "A" * 43),
    }
    proof = soup(pages["questionnaire"]).find("input", attrs={"name": "proof"})["value"]
    pages["thanks"] = client.post(link + "/answers", data={**ANSWERS, "proof": proof})
    pages["replayed"] = client.post(link + "/answers", data={**ANSWERS, "proof": proof})
    for name, response in pages.items():
        assert response.headers["Content-Security-Policy"] == PATIENT_POLICY, name
        assert response.headers["Referrer-Policy"] == "no-referrer", name
        assert response.headers["Cache-Control"] == "no-store", name
        page = soup(response)
        assert page.find("script") is None, name
        for address in addresses(page):
            assert address.startswith(("/p/", "/static/")), (name, address)
        assert procedure.referral.case_number not in response.get_data(as_text=True)
    assert "script-src" not in PATIENT_POLICY
    assert PATIENT_POLICY.startswith("default-src 'none'")


def test_a_staff_login_in_the_same_browser_changes_nothing(client, auth, clock, treated, link):
    procedure, nurse = treated
    auth.login_as(nurse)
    session = db.session.scalar(select(UserSession).where(UserSession.user_id == nurse.id))
    # Twelve hours later the staff login has run out; the patient pages neither
    # end it nor send anyone to the login page: they never read it.
    clock.advance(hours=13)
    landing = client.get(link)
    assert landing.status_code == 200
    proof = proof_for(client, link)
    assert client.post(link + "/answers", data={**ANSWERS, "proof": proof}).status_code == 200
    db.session.expire_all()
    assert db.session.get(UserSession, session.id).ended_at is None
    invitation = invitation_of(procedure)
    trail = entries(referral_id=procedure.referral_id)
    by_patient = [e for e in trail if e.recorded_at > at(PERFORMED + timedelta(days=5))]
    assert by_patient
    assert {e.actor_id for e in by_patient} == {None}
    assert {e.actor_label for e in by_patient} == {f"patient, through invitation {invitation.id}"}
    # A staff page does read the login (and finds it over).
    assert client.get("/followups").status_code == 302
    db.session.expire_all()
    assert db.session.get(UserSession, session.id).ended_at is not None


def test_the_pages_work_with_csrf_protection_on_and_no_session(app, client, link):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        questions = client.post(link, data=born(BORN))
        assert questions.status_code == 200
        proof = soup(questions).find("input", attrs={"name": "proof"})["value"]
        assert client.post(link + "/answers", data={**ANSWERS, "proof": proof}).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert assessments() == 1
    assert "Set-Cookie" not in questions.headers


def test_the_language_switch_keeps_the_patient_where_they_were(client, treated, link):
    procedure, _nurse = treated
    # The preferred language first, then the one chosen, on the same page.
    assert "date de naissance" in text(soup(client.get(link)))
    english = soup(client.get(link + "?lang=en"))
    assert "date of birth" in text(english)
    assert english.find("html")["lang"] == "en"
    stop = soup(client.get(link + "/stop?lang=fr"))
    switch = stop.find("nav").find("a", attrs={"lang": "en"})
    assert switch["href"] == link + "/stop?lang=en"

    # Halfway through the questionnaire: the answers so far come along.
    proof = proof_for(client, link)
    typed = {
        "proof": proof,
        "nrs_average": "6",
        "relief_pct": "150",  # not checked until sent
        "side_effects": "BRUISING",
        "pain_is_back": "y",
        "note": "Ça tire le soir",
    }
    switched = client.post(link + "/answers?lang=fr", data={**typed, "lang": "en"})
    assert switched.status_code == 200
    page = soup(switched)
    assert page.find("html")["lang"] == "en"
    assert "Your answers" in text(page)
    assert checked_values(page, "nrs_average") == {"6"}
    assert checked_values(page, "side_effects") == {"BRUISING"}
    assert checked_values(page, "pain_is_back") == {"y"}
    assert field_value(page, "relief_pct") == "150"
    assert field_value(page, "note") == "Ça tire le soir"
    assert field_value(page, "proof") == proof
    assert page.find("form", id="answers")["action"].endswith("/answers?lang=en")
    assert page.find(class_="invalid-feedback") is None  # nothing checked yet
    assert assessments() == 0
    db.session.expire_all()
    assert invitation_of(procedure).status is InvitationStatus.OPENED
    # Back to French, then sent: thanked in the language of the page.
    back = client.post(link + "/answers?lang=en", data={**typed, "lang": "fr"})
    assert soup(back).find("html")["lang"] == "fr"
    typed["relief_pct"] = "60"
    thanks = client.post(link + "/answers?lang=fr", data=typed)
    assert "Merci" in text(soup(thanks))


def test_enter_sends_the_answers_rather_than_switching_the_language(client, link):
    page = soup(client.post(link, data=born(BORN)))
    form = page.find("form", id="answers")
    # The buttons of the form in the page's order: the first is the one Enter
    # presses, and the language buttons of the header come before the form.
    buttons = [
        b
        for b in page.find_all("button")
        if b.get("form") == "answers" or (b.get("form") is None and b.find_parent("form") is form)
    ]
    first = buttons[0]
    assert first.get("name") is None
    assert first["tabindex"] == "-1"
    assert [b["value"] for b in buttons if b.get("name") == "lang"] == ["en"]
    assert buttons[-1].get("name") is None


# --- bad answers -----------------------------------------------------------------------


def test_out_of_range_answers_are_refused_in_the_patients_language_and_kept(client, link):
    proof = proof_for(client, link)
    sent = {
        "proof": proof,
        "nrs_average": "11",
        "nrs_now": "-1",
        "relief_pct": "150",
        "pgic": "9",
        "analgesic_use": "DOUBLED",
        "note": "x" * 2001,
    }
    response = client.post(link + "/answers", data=sent)
    assert response.status_code == 422
    page = soup(response)
    assert "encore été envoyé" in text(page)
    assert "de 0 à 10" in field_errors(page, "nrs_average")
    assert "de 0 à 10" in field_errors(page, "nrs_now")
    assert "de 0 à 100" in field_errors(page, "relief_pct")
    for name in ("pgic", "analgesic_use", "note"):
        assert field_errors(page, name), name
    assert field_value(page, "relief_pct") == "150"
    assert field_value(page, "note") == "x" * 2001
    assert field_value(page, "proof") == proof
    assert assessments() == 0
    # Letters where a number goes, and no average pain at all.
    response = client.post(link + "/answers", data={"proof": proof, "relief_pct": "beaucoup"})
    page = soup(response)
    assert field_errors(page, "relief_pct")
    assert "Choisissez un nombre" in field_errors(page, "nrs_average")
    assert assessments() == 0


def test_a_birth_date_that_cannot_be_a_date_is_explained_and_not_counted(client, treated, link):
    procedure, _nurse = treated
    cases = {
        "Indiquez votre date de naissance": {},
        "existe pas": born(date(1961, 2, 1)) | {"born_on-day": "31"},
        "quatre chiffres": born(BORN) | {"born_on-year": "61"},
        "en chiffres": born(BORN) | {"born_on-month": "avril"},
    }
    for message, data in cases.items():
        response = client.post(link, data=data)
        assert response.status_code == 422
        page = soup(response)
        assert message in field_errors(page, "born_on"), message
        assert page.find("input", attrs={"name": "born_on-day"})["aria-invalid"] == "true"
    kept = soup(client.post(link, data=born(BORN) | {"born_on-year": "61"}))
    assert field_value(kept, "born_on-day") == str(BORN.day)
    db.session.expire_all()
    assert invitation_of(procedure).wrong_birth_dates == 0


def test_html_in_the_comment_is_shown_as_text_to_the_team(client, auth, treated, link):
    _procedure, nurse = treated
    proof = proof_for(client, link)
    note = '<script>alert("x")</script><b>mal</b>'
    again = client.post(link + "/answers", data={"proof": proof, "nrs_average": "12", "note": note})
    assert "<script>alert" not in again.get_data(as_text=True)
    assert field_value(soup(again), "note") == note
    client.post(link + "/answers", data={**ANSWERS, "proof": proof, "note": note})
    assessment = db.session.scalar(select(Assessment))
    assert assessment.note == note
    # The team reads the earlier answers beside the next time point's form.
    month_1 = db.session.scalar(
        select(FollowUp).where(
            FollowUp.referral_id == assessment.referral_id, FollowUp.offset_days == 30
        )
    )
    auth.login_as(nurse)
    form = client.get(f"/followups/{month_1.id}/assessment")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert "&lt;script&gt;alert(" in body
    assert "<script>alert" not in body
    case = client.get(f"/cases/{assessment.referral_id}").get_data(as_text=True)
    assert "<script>alert" not in case


# --- used links, two tabs, guessing ------------------------------------------------------


def test_a_replayed_post_is_refused_plainly_and_saves_nothing_twice(client, link):
    data = {**ANSWERS, "proof": proof_for(client, link)}
    assert client.post(link + "/answers", data=data).status_code == 200
    replay = client.post(link + "/answers", data=data)
    assert replay.status_code == 410
    assert "déjà été envoyées" in text(soup(replay))
    assert client.post(link, data=born(BORN)).status_code == 410
    assert assessments() == 1


def test_two_tabs_answering_record_one_assessment(client, link, monkeypatch):
    first, second = proof_for(client, link), proof_for(client, link)
    assert client.post(link + "/answers", data={**ANSWERS, "proof": first}).status_code == 200
    late = client.post(link + "/answers", data={**ANSWERS, "nrs_average": "9", "proof": second})
    assert late.status_code == 410
    assert "déjà été envoyées" in text(soup(late))
    assert assessments() == 1
    assert db.session.scalar(select(Assessment.nrs_average)) == 3


def test_two_tabs_sending_at_the_same_moment_record_one_assessment(client, link, monkeypatch):
    first, second = proof_for(client, link), proof_for(client, link)
    assert client.post(link + "/answers", data={**ANSWERS, "proof": first}).status_code == 200
    # The second tab's request passed the link's check before the first was
    # recorded: the answer's claim on the invitation still lets one through.
    monkeypatch.setattr(services, "why_not", lambda invitation, now: None)
    late = client.post(link + "/answers", data={**ANSWERS, "nrs_average": "9", "proof": second})
    assert late.status_code == 409
    assert "déjà été envoyées" in text(soup(late))
    assert assessments() == 1


def test_a_forged_expired_or_revoked_link_is_refused_and_audited(client, clock, treated, link):
    procedure, nurse = treated
    forged = client.get("/p/" + "A" * 43, headers=FRENCH)
    assert forged.status_code == 404
    assert "copié en entier" in text(soup(forged))
    [entry] = entries(action=AuditAction.LOGIN_FAILED)
    assert (entry.entity_type, entry.entity_id, entry.referral_id) == ("Invitation", "", None)
    assert entry.actor_label == "patient link (unknown)"
    assert entry.changes == {"refused": "unknown", "address": "127.0.0.1"}

    services.revoke(invitation_of(procedure), by=nurse)
    db.session.commit()
    revoked = client.get(link)
    assert revoked.status_code == 410
    assert "plus utilisé" in text(soup(revoked))
    entry = entries(action=AuditAction.LOGIN_FAILED)[-1]
    assert (entry.referral_id, entry.changes["refused"]) == (procedure.referral_id, "revoked")

    # The patient asks for the other language even on a refusal.
    assert "no longer in use" in text(soup(client.get(link + "?lang=en")))


def test_an_expired_link_is_refused(client, clock, link):
    clock.set(at(PERFORMED + timedelta(days=12)))
    expired = client.get(link)
    assert expired.status_code == 410
    assert "expiré" in text(soup(expired))
    assert entries(action=AuditAction.LOGIN_FAILED)[-1].changes["refused"] == "expired"


def test_guessing_is_slowed_per_link_and_per_address(client, clock, link):
    for _ in range(services.PER_LINK):
        assert client.get(link).status_code == 200
    busy = client.get(link, headers=FRENCH)
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == str(patient.RETRY_AFTER)
    assert "Trop de tentatives" in text(soup(busy))
    assert client.post(link, data=born(BORN)).status_code == 429  # even the right date
    # One entry for the run of refusals, not one per request.
    assert len(entries(action=AuditAction.LOGIN_FAILED)) == 1
    assert entries(action=AuditAction.LOGIN_FAILED)[0].changes["refused"] == "busy"
    clock.advance(minutes=11)
    assert client.get(link).status_code == 200

    # Another address trying many links: refused past its own limit, whatever
    # the link, the real one included.
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    for n in range(services.PER_ADDRESS):
        forged = client.get(f"/p/guess{n:040d}", environ_base=elsewhere)
        assert forged.status_code == 404
    assert client.get(link, environ_base=elsewhere).status_code == 429
    assert client.get(link).status_code == 200  # the patient, from their own address


def test_the_client_address_comes_from_the_reverse_proxy_when_told(app, client, link):
    """Behind the hospital's proxy every request comes from the proxy: the
    per-address limit must count the patient's own address (TRACKER_PROXY_HOPS)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from tests.conftest import TEST_CONFIG
    from tracker import create_app

    assert not isinstance(app.wsgi_app, ProxyFix)
    proxied = create_app({**TEST_CONFIG, "PROXY_HOPS": 1}, patient_only=True)
    assert isinstance(proxied.wsgi_app, ProxyFix)
    assert (proxied.wsgi_app.x_for, proxied.wsgi_app.x_proto) == (1, 1)


def test_every_attempt_names_the_patient_link_in_the_audit_trail(client, auth, treated, link):
    procedure, _nurse = treated
    invitation = invitation_of(procedure)
    actor = f"patient, through invitation {invitation.id}"
    client.get(link)
    client.post(link, data=born(date(1970, 1, 1)))
    client.post(link, data=born(date(1970, 1, 2)))
    proof = proof_for(client, link)
    client.post(link + "/answers", data={"proof": "forged", **ANSWERS})
    client.post(link + "/answers", data={**ANSWERS, "proof": proof})
    trail = [
        (e.action, e.entity_type, e.changes.get("birth_date") or e.changes.get("refused"))
        for e in entries(referral_id=procedure.referral_id, actor_label=actor)
    ]
    assert (AuditAction.VIEW, "Invitation", None) in trail
    assert trail.count((AuditAction.LOGIN_FAILED, "Invitation", "wrong")) == 2
    assert (AuditAction.LOGIN, "Invitation", "confirmed") in trail
    assert (AuditAction.LOGIN_FAILED, "Invitation", "proof") in trail
    assert (AuditAction.INSERT, "Assessment", None) in trail
    wrong = [
        e.changes["wrong_birth_dates"]
        for e in entries(action=AuditAction.LOGIN_FAILED)
        if e.changes.get("birth_date") == "wrong"
    ]
    assert wrong == [1, 2]
    # Refusals are visible to admins in the audit viewer.
    admin = make_user(roles={Role.ADMIN})
    client.get("/p/" + "B" * 43)
    auth.login_as(admin)
    listing = client.get("/admin/audit?entity_type=Invitation&action=LOGIN_FAILED")
    assert listing.status_code == 200
    shown = text(soup(listing))
    assert "patient link (unknown)" in shown
    assert actor in shown


def test_the_landing_page_takes_a_fixed_number_of_queries(client, link, count_queries):
    client.get(link)
    with count_queries() as counter:
        assert client.get(link).status_code == 200
    assert counter.count <= 12, counter.statements
