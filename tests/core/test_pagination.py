"""Every paginated list reads ``?page=`` through one helper that clamps it:
a huge, negative or non-numeric page is a page, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import make_referral, make_user
from tracker.web.handlers import MAX_PAGE, page_number
from tracker.web.permissions import Role

TRACKER = Path(__file__).resolve().parents[2] / "tracker"

#: Every list page, by who may open it.
LISTS = [
    ("/cases", Role.COORDINATOR),
    ("/cases/{referral}/history", Role.COORDINATOR),
    ("/meetings", Role.COORDINATOR),
    ("/admin/users", Role.ADMIN),
    ("/admin/jobs", Role.ADMIN),
    ("/admin/audit", Role.ADMIN),
]

PAGES = [str(10**30), "-1", "abc", "0", "99999999999999999999999", " 2", "1e9", ""]


def test_every_paginated_list_goes_through_the_helper():
    direct = [
        str(path.relative_to(TRACKER))
        for path in TRACKER.rglob("*.py")
        if re.search(r"\bdb\.paginate\(", path.read_text()) and path.name != "handlers.py"
    ]
    assert direct == [], "use tracker.web.handlers.paginate"
    users = {
        str(path.relative_to(TRACKER))
        for path in TRACKER.rglob("*.py")
        if re.search(r"\bpaginate\(", path.read_text())
    }
    # The six list pages' modules, and the helper.
    assert len(users) >= 6


@pytest.mark.parametrize(("url", "role"), LISTS)
def test_a_hostile_page_number_is_clamped_on_every_list(app, client, auth, url, role):
    referral = make_referral()
    auth.login_as(make_user(roles={role}))
    for page in PAGES:
        response = client.get(url.format(referral=referral.id), query_string={"page": page})
        assert response.status_code == 200, (url, page)


@pytest.mark.parametrize(
    ("raw", "number"),
    [("", 1), ("3", 3), ("-1", 1), ("0", 1), ("abc", 1), (str(10**30), MAX_PAGE), ("+4", 4)],
)
def test_the_page_number_is_clamped(app, raw, number):
    with app.test_request_context(query_string={"page": raw}):
        assert page_number() == number
