""" "May we e-mail this person" says the same in SQL as in Python, on generated
accounts run through the database."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.factories import make_user
from tests.in_sql import SAME_IN_SQL
from tracker.auth.models import User
from tracker.auth.rules import MailKind, may_email, may_email_sql
from tracker.extensions import db

PEOPLE = 5

#: An account: active or not, and its choice for each kind of e-mail.
account = st.tuples(
    st.booleans(), st.fixed_dictionaries({kind: st.booleans() for kind in MailKind})
)


@pytest.fixture
def people(app):
    return [make_user() for _ in range(PEOPLE)]


@SAME_IN_SQL
@given(accounts=st.lists(account, min_size=PEOPLE, max_size=PEOPLE))
# Active but opted out of everything; inactive but opted in to everything.
@example(
    accounts=[(True, dict.fromkeys(MailKind, False)), (False, dict.fromkeys(MailKind, True))]
    + [(True, dict.fromkeys(MailKind, True))] * (PEOPLE - 2)
)
def test_may_email_in_sql_is_the_rule(people, accounts):
    for person, (active, choices) in zip(people, accounts, strict=True):
        values = {kind.value: chosen for kind, chosen in choices.items()}
        db.session.execute(
            update(User).where(User.id == person.id).values(is_active=active, **values)
        )
        db.session.refresh(person)
    ids = [person.id for person in people]
    for kind in MailKind:
        in_sql = set(
            db.session.scalars(select(User.id).where(User.id.in_(ids), may_email_sql(User, kind)))
        )
        assert in_sql == {person.id for person in people if may_email(person, kind)}, kind
    assert not any(may_email(None, kind) for kind in MailKind)
