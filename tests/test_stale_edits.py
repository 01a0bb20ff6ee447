"""Two people editing the same record: the second save, made from what the
first one changed, is refused with what changed, and nothing is lost."""

from __future__ import annotations

from typing import Any

from tests.factories import make_meeting, make_patient, make_referral, make_user
from tests.html import field_value, soup, text
from tracker.cases.models import Patient
from tracker.extensions import db
from tracker.meetings.models import Meeting
from tracker.web.permissions import Role

PASSWORD = "a long enough test password"


def logged_in(app: Any, user: Any) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def form_data(page: Any, form_id: str | None = None) -> dict[str, Any]:
    """What a browser sends for the page's main form, as shown."""
    scope = page.find("form", id=form_id) if form_id else page.find("main") or page
    data: dict[str, Any] = {}
    for field in scope.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if not name or field.get("type") in ("submit", "button"):
            continue
        if field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data.setdefault(name, []).append(field.get("value", "y"))
            continue
        data[name] = field_value(page, name)
    return data


def two_editors(app: Any, *roles: Role) -> tuple[Any, Any]:
    return (
        logged_in(app, make_user(roles=set(roles), email="sophie@hospital.test")),
        logged_in(app, make_user(roles=set(roles), email="julien@hospital.test")),
    )


def test_a_stale_identity_save_does_not_write_back_an_old_first_name(app):
    patient = make_patient(first_name="Jeanne")
    referral = make_referral(patient=patient)
    first, second = two_editors(app, Role.COORDINATOR)
    url = f"/patients/{patient.id}/edit?case={referral.id}"
    theirs = form_data(soup(first.get(url)))
    mine = form_data(soup(second.get(url)))

    theirs["first_name"] = "Jeannette"
    assert first.post(url, data=theirs).status_code == 302

    mine["phone_1"] = "06 98 76 54 32"
    response = second.post(url, data=mine)
    assert response.status_code == 409
    page = soup(response)
    warning = text(page.find(id="edit-conflict"))
    assert "“Jeanne” → “Jeannette” (sophie@hospital.test" in warning
    assert field_value(page, "phone_1") == "06 98 76 54 32"  # the input is kept
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Jeannette"

    # Saved again, knowingly, from the conflict page: it goes through.
    again = form_data(page)
    again["first_name"] = "Jeannette"
    assert second.post(url, data=again).status_code == 302
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).first_name == "Jeannette"


def test_a_stale_meeting_save_does_not_write_back_an_old_place(app):
    meeting = make_meeting(place="Salle de staff, imagerie, niveau 2")
    first, second = two_editors(app, Role.COORDINATOR)
    url = f"/meetings/{meeting.id}/edit"
    theirs = form_data(soup(first.get(url)))
    mine = form_data(soup(second.get(url)))

    theirs["place"] = "Amphithéâtre B"
    assert first.post(url, data=theirs).status_code == 302

    mine["capacity"] = "10"
    response = second.post(url, data=mine)
    assert response.status_code == 409
    page = soup(response)
    assert "→ “Amphithéâtre B”" in text(page.find(id="edit-conflict"))
    assert field_value(page, "capacity") == "10"
    db.session.expire_all()
    saved = db.session.get(Meeting, meeting.id)
    assert saved.place == "Amphithéâtre B"
    assert saved.capacity == 12


def test_the_version_is_checked_even_when_the_form_leaves_it_out(app):
    patient = make_patient(first_name="Jeanne")
    client = logged_in(app, make_user(roles={Role.COORDINATOR}))
    data = form_data(soup(client.get(f"/patients/{patient.id}/contact")))
    data.pop("version")
    data["phone_1"] = "06 98 76 54 32"
    assert client.post(f"/patients/{patient.id}/contact", data=data).status_code == 409
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone_1 != "06 98 76 54 32"
