"""The case list: search, filters, sorting, pagination, and its query budget."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import first_indication, make_patient, make_referral, make_user
from tests.html import soup, text
from tracker.cases import services
from tracker.cases.models import Urgency
from tracker.cases.rules import CaseStatus
from tracker.extensions import db
from tracker.web.permissions import Role


@pytest.fixture
def coordinator(auth):
    user = make_user(roles={Role.COORDINATOR})
    auth.login_as(user)
    return user


def case_numbers(response) -> list[str]:
    page = soup(response)
    return [row.find("a").get_text(strip=True) for row in page.select("tbody tr")]


def test_search_by_case_number_hospital_number_or_name(client, coordinator):
    eloise = make_referral(
        patient=make_patient(mrn="80012345", last_name="Lefèvre", first_name="Éloïse")
    )
    jean = make_referral(
        patient=make_patient(mrn="90055555", last_name="Martin", first_name="Jean")
    )
    assert case_numbers(client.get("/cases", query_string={"q": eloise.case_number})) == [
        eloise.case_number
    ]
    assert case_numbers(client.get("/cases", query_string={"q": "rcp-2026-000"})) == [
        jean.case_number,
        eloise.case_number,
    ]
    assert case_numbers(client.get("/cases", query_string={"q": "90055555"})) == [jean.case_number]
    for query in ("lefevre", "LEFÈVRE", "Lefèvre Élo", "eloise", "éloïse lef"):
        assert case_numbers(client.get("/cases", query_string={"q": query})) == [
            eloise.case_number
        ], query
    assert case_numbers(client.get("/cases", query_string={"q": "lefevrex"})) == []
    assert "No case matches this search." in text(
        soup(client.get("/cases", query_string={"q": "zzz"}))
    )


def test_filters_combine(client, coordinator):
    other_referrer = make_user(roles={Role.CLINICIAN})
    urgent = make_referral(urgency=Urgency.URGENT, referral_on=date(2026, 10, 1))
    draft = make_referral(question=None, referral_on=date(2026, 11, 10))
    theirs = make_referral(
        referrer_id=other_referrer.id,
        referral_on=date(2026, 9, 15),
        indication_id=first_indication("spinal_pain").id,
    )

    def found(**args):
        return case_numbers(client.get("/cases", query_string=args))

    assert found(status="DRAFT") == [draft.case_number]
    assert found(urgency="URGENT") == [urgent.case_number]
    assert found(referrer_id=other_referrer.id) == [theirs.case_number]
    assert found(indication_id=first_indication("spinal_pain").id) == [theirs.case_number]
    assert found(referred_from="2026-09-30", referred_to="2026-10-31") == [urgent.case_number]
    assert found(status="REFERRED", referred_from="2026-09-01") == [
        urgent.case_number,
        theirs.case_number,
    ]
    assert found(sort="oldest") == [theirs.case_number, urgent.case_number, draft.case_number]
    assert found(sort="urgent")[0] == urgent.case_number


def test_bad_filters_show_an_error_and_the_unfiltered_list(client, coordinator):
    make_referral()
    response = client.get("/cases", query_string={"referred_from": "yesterday", "status": "LOST"})
    assert response.status_code == 200
    page = soup(response)
    assert "Not a valid date value" in text(page)
    assert "Not a valid choice" in text(page)
    assert len(case_numbers(response)) == 1


def test_pagination_keeps_the_filters(app, client, coordinator):
    app.config["PER_PAGE"] = 5
    try:
        referrer = make_user(roles={Role.RADIOLOGIST})
        for _ in range(12):
            make_referral(referrer_id=referrer.id)
        first = client.get("/cases", query_string={"referrer_id": referrer.id})
        assert len(case_numbers(first)) == 5
        link = soup(first).find("a", string="Next")["href"]
        assert f"referrer_id={referrer.id}" in link
        assert "page=2" in link
        third = client.get("/cases", query_string={"referrer_id": referrer.id, "page": 3})
        assert len(case_numbers(third)) == 2
        assert "12 cases" in text(soup(third))
        assert client.get("/cases?page=999").status_code == 200
    finally:
        app.config["PER_PAGE"] = 25


def make_many(count: int) -> list:
    """``count`` referrals by one referrer, a third of them drafts, a fifth urgent."""
    from tests.factories import referral_details

    referrer = make_user(roles={Role.RADIOLOGIST})
    coordinator = make_user(roles={Role.COORDINATOR})
    referrals = []
    for number in range(count):
        details = referral_details(
            referrer_id=referrer.id,
            urgency=Urgency.URGENT if number % 5 == 0 else Urgency.ROUTINE,
        )
        if number % 3 == 0:
            details["question"] = None
        referrals.append(services.refer_case(make_patient(), details, by=coordinator))
    db.session.commit()
    return referrals


def queries_for(client, count_queries, url: str) -> int:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize(
    "url", ["/cases", "/cases?status=REFERRED&sort=urgent", "/cases?q=dupont", "/"]
)
def test_lists_use_the_same_number_of_queries_for_10_and_200_cases(
    client, coordinator, count_queries, url
):
    make_many(10)
    with_10 = queries_for(client, count_queries, url)
    make_many(190)
    with_200 = queries_for(client, count_queries, url)
    assert with_10 == with_200
    assert with_200 <= 12


def test_the_case_page_uses_a_fixed_number_of_queries(client, coordinator, count_queries):
    referrals = make_many(10)
    # A referred case: its header looks for the next meeting to put it on.
    target = referrals[-2]
    assert target.status is CaseStatus.REFERRED
    small = queries_for(client, count_queries, f"/cases/{target.id}")
    make_many(190)
    # A long story: many status moves and several other cases of the patient.
    for _ in range(10):
        services.update_referral(
            target, {"question": None}, expected_version=target.version, by=coordinator
        )
        services.update_referral(
            target, {"question": "Again?"}, expected_version=target.version, by=coordinator
        )
    for _ in range(5):
        make_referral(patient=target.patient)
    db.session.commit()
    large = queries_for(client, count_queries, f"/cases/{target.id}")
    assert len(target.events) >= 20
    assert target.status is CaseStatus.REFERRED
    assert small == large
    assert large <= 12


def test_a_search_with_control_characters_finds_what_the_text_says(client, auth):
    """The meeting page's waiting list is searched from the address as typed:
    a NUL byte reached PostgreSQL, which refuses it."""
    from tests.factories import make_meeting, make_patient, make_referral, make_user
    from tracker.web.permissions import Role

    auth.login_as(make_user(roles={Role.COORDINATOR}))
    make_referral(patient=make_patient(last_name="Dupont", mrn="80012345"))
    meeting = make_meeting()
    response = client.get(f"/meetings/{meeting.id}", query_string={"q": "\x00dupont\x1b"})
    assert response.status_code == 200
    assert "DUPONT" in response.get_data(as_text=True)


def test_a_common_name_shows_the_first_200_and_asks_to_refine(client, coordinator, count_queries):
    """A search is capped before counting: past 200 matches the page says so
    instead of counting them all, in the same queries as for a few."""
    make_many(10)
    few = queries_for(client, count_queries, "/cases?q=dupont")
    assert "10 cases" in text(soup(client.get("/cases?q=dupont")))
    make_many(240)
    many = queries_for(client, count_queries, "/cases?q=dupont")
    assert many == few
    first = client.get("/cases?q=dupont")
    assert "More than 200 cases match this search: refine it to see the others." in text(
        soup(first)
    )
    assert "250 cases" not in text(soup(first))
    assert len(case_numbers(first)) == 25
    # Eight pages of the first 200, newest first; none after them.
    assert len(case_numbers(client.get("/cases?q=dupont&page=8"))) == 25
    assert case_numbers(client.get("/cases?q=dupont&page=9")) == []
    # Without a search the list counts every case.
    assert "250 cases" in text(soup(client.get("/cases")))
