"""The person's own profile: how the pages write about them."""

from __future__ import annotations

from tests.factories import make_user
from tests.html import checked_values, soup, text
from tracker.core.address import FormOfAddress
from tracker.extensions import db
from tracker.web.permissions import Role


def test_a_person_states_their_form_of_address(client, auth):
    user = make_user(roles={Role.COORDINATOR}, locale="fr")
    auth.login_as(user)
    page = soup(client.get("/account/profile"))
    assert checked_values(page, "form_of_address") == {"UNSPECIFIED"}
    home = text(soup(client.get("/")))
    assert "Coordinateur" in home

    response = client.post(
        "/account/profile", data={"form_of_address": "FEMININE", "version": str(user.version)}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.form_of_address is FormOfAddress.FEMININE
    assert "Coordinatrice" in text(soup(client.get("/")))


def test_a_tampered_form_of_address_is_refused_and_changes_nothing(client, auth):
    user = make_user(form_of_address=FormOfAddress.MASCULINE)
    auth.login_as(user)
    response = client.post("/account/profile", data={"form_of_address": "NEUTER"})
    assert response.status_code == 422
    db.session.refresh(user)
    assert user.form_of_address is FormOfAddress.MASCULINE


def test_the_admin_sets_it_and_the_user_list_agrees(client, auth):
    auth.login_as(make_user(roles={Role.ADMIN}, locale="fr"))
    response = client.post(
        "/admin/users/new",
        data={
            "email": "claire.dubois@hospital.test",
            "full_name": "Claire Dubois",
            "specialty": "OTHER",
            "form_of_address": "FEMININE",
            "roles": ["COORDINATOR"],
            "password": "a long enough test password",
            "confirm": "a long enough test password",
        },
    )
    assert response.status_code == 302
    page = text(soup(client.get("/admin/users")))
    assert "Coordinatrice" in page
