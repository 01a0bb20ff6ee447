"""The retreatment verdict's reasons in plain words, in the reader's language."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from tracker.core.numbers import percent

DATE_KEYS = ("on", "since", "from")


def _values(raw: dict[str, Any]) -> dict[str, Any]:
    values = dict(raw)
    for key in DATE_KEYS:
        value = values.get(key)
        if isinstance(value, str):
            value = date.fromisoformat(value)
        if isinstance(value, date):
            values[key] = format_date(value, "d MMM y")
    for key in ("best", "latest"):
        if values.get(key) is not None:
            # Half up, as every percentage the product shows (62.5 is 63).
            values[key] = int(percent(values[key], 100))
    return values


def explain(code: str, raw: dict[str, Any]) -> str:
    v = _values(raw)
    messages = {
        "no_procedure": lambda: _("No procedure has been recorded for this case."),
        "no_baseline": lambda: _("The referral has no baseline average pain to compare with."),
        "no_assessment": lambda: _(
            "No follow-up assessment since the procedure of %(since)s.", since=v["since"]
        ),
        "no_counted_assessment": lambda: _(
            "No assessment that counts since the procedure of %(since)s: readings count "
            "from day %(day)d after it.",
            since=v["since"],
            day=v["day"],
        ),
        "pain_back_throughout": lambda: _(
            "No response: the patient said the pain was back at every assessment (%(on)s).",
            on=v["on"],
        ),
        "severe_adverse_event": lambda: _(
            "The last procedure caused a CIRSE grade %(grade)d adverse event: from grade "
            "%(limit)d a repeat needs a fresh discussion, not a routine retreatment.",
            grade=v["grade"],
            limit=v["limit"],
        ),
        "failed_sessions": lambda: ngettext(
            "%(num)d session brought no response: propose another therapy.",
            "%(num)d sessions in a row brought no response: propose another therapy.",
            v["count"],
        ),
        "no_response": lambda: _(
            "No response: the best reduction was %(best)d%% (%(on)s), under the %(threshold)d%% "
            "of a response.",
            best=v["best"],
            on=v["on"],
            threshold=v["threshold"],
        ),
        "failed_so_far": lambda: _(
            "Sessions without response in a row: %(count)d; after %(limit)d another therapy is "
            "proposed.",
            count=v["count"],
            limit=v["limit"],
        ),
        "responded": lambda: _(
            "Responded: %(best)d%% less pain on %(on)s (at least %(threshold)d%%).",
            best=v["best"],
            on=v["on"],
            threshold=v["threshold"],
        ),
        "partial_response": lambda: _(
            "Partial response: %(best)d%% less pain on %(on)s (at least %(threshold)d%%, short "
            "of a full response).",
            best=v["best"],
            on=v["on"],
            threshold=v["threshold"],
        ),
        "holding": lambda: _(
            "Still relieved at the latest assessment: %(latest)d%% less pain on %(on)s.",
            latest=v["latest"],
            on=v["on"],
        ),
        "recurrence": lambda: _(
            "The pain has come back: only %(latest)d%% less pain on %(on)s, under %(threshold)d%%.",
            latest=v["latest"],
            on=v["on"],
            threshold=v["threshold"],
        ),
        "pain_is_back": lambda: _("The patient said on %(on)s that the pain is back.", on=v["on"]),
        "not_retreatable": lambda: _(
            "%(technique)s is not expected to wear off: a recurrence calls for a new "
            "discussion of its cause, not a routine repeat.",
            technique=v["technique"],
        ),
        "too_early": lambda: ngettext(
            "The minimum interval of %(num)d day since the last procedure ends on %(from)s.",
            "The minimum interval of %(num)d days since the last procedure ends on %(from)s.",
            v["days"],
            **{"from": v["from"]},
        ),
        "interval_passed": lambda: ngettext(
            "At least %(num)d day since the procedure of %(since)s.",
            "At least %(num)d days since the procedure of %(since)s.",
            v["days"],
            since=v["since"],
        ),
        "no_severe_adverse_event": lambda: _(
            "No adverse event of CIRSE grade %(limit)d or worse.", limit=v["limit"]
        ),
    }
    message = messages.get(code)
    return message() if message else code


def explain_all(reasons: list[dict[str, Any]]) -> list[str]:
    return [explain(reason["code"], reason.get("values", {})) for reason in reasons]
