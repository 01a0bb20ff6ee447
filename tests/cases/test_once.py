"""A referral form sent twice creates one case."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.cases.test_views import form_data, radiologist, referral_count  # noqa: F401
from tests.conftest import AuthActions
from tests.factories import make_referral, make_user
from tests.html import field_errors, field_value, soup
from tracker.cases.models import Referral
from tracker.core.once import FormSubmission
from tracker.extensions import db
from tracker.web import handlers
from tracker.web.permissions import Role


def _issued_key(client) -> str:
    return soup(client.get("/cases/new")).find(attrs={"name": "once_key"})["value"]


def test_two_identical_referral_submissions_create_one_case(client, radiologist):  # noqa: F811
    data = form_data(radiologist, once_key=_issued_key(client))

    first = client.post("/cases/new", data=data)
    second = client.post("/cases/new", data=data)

    assert first.status_code == second.status_code == 302
    referral = db.session.scalar(select(Referral))
    assert referral_count() == 1
    assert second.headers["Location"] == first.headers["Location"] == f"/cases/{referral.id}"
    assert "This was already saved." in soup(client.get(second.headers["Location"])).text
    submission = db.session.scalar(select(FormSubmission))
    assert (submission.kind, submission.object_id, submission.user_id) == (
        "referral",
        referral.id,
        radiologist.id,
    )


def test_each_new_form_has_its_own_key(client, radiologist):  # noqa: F811
    assert _issued_key(client) != _issued_key(client)


def test_a_form_without_a_key_is_still_saved(client, radiologist):  # noqa: F811
    assert client.post("/cases/new", data=form_data(radiologist)).status_code == 302
    assert referral_count() == 1


def test_a_second_referral_of_a_patient_within_minutes_asks_before_saving(
    client,
    radiologist,  # noqa: F811
    clock,
):
    clock.set(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))
    assert client.post("/cases/new", data=form_data(radiologist)).status_code == 302
    clock.set(datetime(2026, 11, 18, 10, 9, tzinfo=UTC))

    warned = client.post("/cases/new", data=form_data(radiologist, question="Another question"))

    assert warned.status_code == 422
    page = soup(warned)
    assert "referred a few minutes ago (RCP-2026-0001)" in field_errors(page, "save_anyway")
    assert page.find(attrs={"name": "save_anyway"}) is not None
    assert field_value(page, "question") == "Another question"
    assert referral_count() == 1

    saved = client.post("/cases/new", data=form_data(radiologist, save_anyway="y"))
    assert saved.status_code == 302
    assert referral_count() == 2


def test_a_referral_after_ten_minutes_is_saved_without_asking(client, radiologist, clock):  # noqa: F811
    clock.set(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))
    assert client.post("/cases/new", data=form_data(radiologist)).status_code == 302
    clock.set(datetime(2026, 11, 18, 10, 10, 1, tzinfo=UTC))
    assert client.post("/cases/new", data=form_data(radiologist)).status_code == 302
    assert referral_count() == 2


def test_a_copy_sent_at_the_same_moment_is_refused_by_the_unique_key(committed_app, monkeypatch):
    """The other copy stored the key after this one looked for it: the unique
    key refuses this one, nothing of it is kept, and it leads to the first."""
    key = "k" * 32
    with committed_app.app_context():
        user = make_user(roles={Role.RADIOLOGIST}, email="julien.moreau@hospital.test")
        first = make_referral(referrer_id=user.id)
        db.session.add(
            FormSubmission(key=key, kind="referral", object_id=first.id, user_id=user.id)
        )
        db.session.commit()
        first_id, data = first.id, form_data(user, once_key=key)
        db.session.remove()
    looked = []

    def not_yet(found):
        def lookup(value):
            looked.append(value)
            return None if len(looked) == 1 else found(value)

        return lookup

    monkeypatch.setattr(handlers, "submission_for", not_yet(handlers.submission_for))
    client = committed_app.test_client()
    AuthActions(client).login("julien.moreau@hospital.test")

    response = client.post("/cases/new", data=data)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{first_id}"
    assert len(looked) == 2
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Referral)) == 1
        assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 1
        db.session.remove()
