"""Two people at once, through the web pages, on a database whose transactions
really commit: nobody's saved work is silently overwritten, the agenda never
takes more cases than it holds, and the audit chain stays whole.

Each person is a browser (a test client) in a thread of their own; the two
requests are released together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from tests.factories import (
    PASSWORD,
    make_meeting,
    make_procedure,
    make_referral,
    make_user,
    radiologist,
    running_meeting,
)
from tests.html import field_value, soup, text
from tracker.cases.models import Referral
from tracker.core.audit import AuditAction, AuditEntry, verify_chain
from tracker.decisions.models import Decision
from tracker.extensions import db
from tracker.followups.models import Assessment, FollowUp, FollowUpStatus
from tracker.meetings import services as meeting_services
from tracker.meetings.models import AgendaItem, ItemState
from tracker.web.permissions import Role

#: How long a thread may take to reach the start line or to finish: a guard
#: against a hang, generous enough for a busy machine.
WAIT_S = 600


def at_once(*requests: Callable[[], Any]) -> list[Any]:
    """Run the requests in threads released together; their responses, in order."""
    start = threading.Barrier(len(requests))
    responses: list[Any] = [None] * len(requests)
    errors: list[BaseException] = []

    def run(index: int, request: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=WAIT_S)
            responses[index] = request()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(index, request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert errors == []
    return responses


def browser(app: Any, email: str) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def chain_is_whole(app: Any) -> None:
    with app.app_context():
        assert verify_chain(db.session.connection()).intact
        db.session.remove()


def test_two_coordinators_take_the_last_agenda_slot(committed_app):
    with committed_app.app_context():
        meeting = make_meeting(capacity=2)
        meeting_services.add_to_agenda(meeting, make_referral(), by=None)
        first, second = make_referral(), make_referral()
        people = [make_user(roles={Role.COORDINATOR}).email for _ in range(2)]
        db.session.commit()
        ids = meeting.id, first.id, second.id
        db.session.remove()
    meeting_id, first_id, second_id = ids
    one, two = (browser(committed_app, person) for person in people)
    responses = at_once(
        lambda: one.post(f"/meetings/{meeting_id}/agenda", data={"referral_id": first_id}),
        lambda: two.post(f"/meetings/{meeting_id}/agenda", data={"referral_id": second_id}),
    )
    assert [response.status_code for response in responses] == [302, 302]
    with committed_app.app_context():
        on_agenda = db.session.scalars(
            select(AgendaItem.referral_id).where(
                AgendaItem.meeting_id == meeting_id, AgendaItem.state == ItemState.PENDING
            )
        ).all()
        assert len(on_agenda) == 2
        assert len({first_id, second_id} & set(on_agenda)) == 1
        db.session.remove()
    pages = [text(soup(client.get(f"/meetings/{meeting_id}"))) for client in (one, two)]
    assert sum("full" in page for page in pages) == 1
    chain_is_whole(committed_app)


def test_two_editors_of_one_referral_lose_nothing(committed_app):
    with committed_app.app_context():
        referral = make_referral(pain_site="Left foot")
        people = [make_user(roles={Role.COORDINATOR}).email for _ in range(2)]
        db.session.commit()
        referral_id = referral.id
        db.session.remove()
    one, two = (browser(committed_app, person) for person in people)
    url = f"/cases/{referral_id}/edit"
    forms = []
    for client in (one, two):
        page = soup(client.get(url))
        data = {
            field["name"]: field_value(page, field["name"]) or ""
            for field in page.select("form[method=post] [name]")
            if field["name"] not in ("csrf_token", "treatments_tried")
        }
        forms.append(data)
    responses = at_once(
        lambda: one.post(url, data={**forms[0], "pain_site": "Left foot, 3rd web space"}),
        lambda: two.post(url, data={**forms[1], "pain_site": "Left foot, 2nd web space"}),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [302, 409] or statuses == [302, 422], statuses
    loser = next(response for response in responses if response.status_code != 302)
    assert "Someone else saved this case" in text(soup(loser))
    with committed_app.app_context():
        saved = db.session.get(Referral, referral_id).pain_site
        winner = "3rd" if responses[0].status_code == 302 else "2nd"
        assert winner in saved
        updates = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity_type == "Referral",
                AuditEntry.entity_id == str(referral_id),
                AuditEntry.action == AuditAction.UPDATE,
            )
        ).all()
        assert sum("pain_site" in entry.changes for entry in updates) == 1
        db.session.remove()
    chain_is_whole(committed_app)


def test_two_recorders_of_one_decision_lose_nothing(committed_app):
    with committed_app.app_context():
        chair = radiologist(full_name="Dr Julien Moreau")
        meeting = running_meeting(1, chair=chair)
        emails = chair.email, make_user(roles={Role.COORDINATOR}).email
        db.session.commit()
        meeting_id, item_id = meeting.id, meeting.agenda[0].id
        db.session.remove()
    one, two = (browser(committed_app, email) for email in emails)
    url = f"/meetings/{meeting_id}/mode?item={item_id}"
    versions = [field_value(soup(client.get(url)), "version") for client in (one, two)]
    assert versions == ["0", "0"]

    def save(client: Any, reasons: str) -> Any:
        data = {"outcome": "POSTPONED", "reasons": reasons, "action": "save", "version": "0"}
        return client.post(url, data=data)

    responses = at_once(
        lambda: save(one, "Awaiting the MRI"), lambda: save(two, "Awaiting the EMG")
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses[0] == 302
    assert statuses[1] in (409, 422)
    loser = next(response for response in responses if response.status_code != 302)
    page = soup(loser)
    assert "Someone else saved this decision" in text(page)
    assert page.find(id="edit-conflict") is not None
    with committed_app.app_context():
        [decision] = db.session.scalars(
            select(Decision).where(Decision.agenda_item_id == item_id)
        ).all()
        winner = "MRI" if responses[0].status_code == 302 else "EMG"
        assert winner in decision.reasons
        db.session.remove()
    # Saved again from the conflict page, knowingly: it goes through.
    loser_client = one if responses[0].status_code != 302 else two
    retry = loser_client.post(
        url,
        data={
            "outcome": "POSTPONED",
            "reasons": "Awaiting both",
            "action": "save",
            "version": field_value(page, "version"),
        },
    )
    assert retry.status_code == 302
    chain_is_whole(committed_app)


def test_two_clinicians_recording_one_follow_up_record_it_once(committed_app):
    with committed_app.app_context():
        procedure = make_procedure()
        followup = db.session.scalars(
            select(FollowUp).where(FollowUp.procedure_id == procedure.id).order_by(FollowUp.due_on)
        ).first()
        people = [make_user(roles={Role.CLINICIAN}).email for _ in range(2)]
        db.session.commit()
        followup_id = followup.id
        db.session.remove()
    one, two = (browser(committed_app, person) for person in people)
    url = f"/followups/{followup_id}/assessment"

    def record(client: Any, score: int) -> Any:
        data = {"assessed_on": date(2026, 6, 23).isoformat(), "mode": "PHONE", "nrs_average": score}
        return client.post(url, data=data)

    responses = at_once(lambda: record(one, 2), lambda: record(two, 3))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [302, 422]
    loser = next(response for response in responses if response.status_code == 422)
    assert "already been done" in text(soup(loser))
    with committed_app.app_context():
        assert db.session.get(FollowUp, followup_id).status is FollowUpStatus.DONE
        count = db.session.scalar(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.followup_id == followup_id)
        )
        assert count == 1
        db.session.remove()
    chain_is_whole(committed_app)
