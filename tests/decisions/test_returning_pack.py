"""Meeting mode for a returning patient: the pack of the episode the case presents
again, and a small trajectory of each earlier procedure."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

from sqlalchemy import select

from tests.factories import assess, make_procedure, make_user, running_meeting
from tests.html import soup, text
from tracker.cases.models import Referral
from tracker.core.audit import AuditAction, AuditEntry
from tracker.decisions.models import Procedure
from tracker.extensions import db
from tracker.followups import services as followup_services
from tracker.followups.chart import SPARKLINE_SIZE, sparkline_svg, sparkline_words
from tracker.followups.returning import procedure_parameters
from tracker.meetings import services as meeting_services
from tracker.web.permissions import Role

SVG = "{http://www.w3.org/2000/svg}"
CRYO = "Cryoneurolysis / cryoablation of a nerve or neuroma"


# --- the small trajectory, without the database ---------------------------------------


def test_the_small_trajectory_says_its_values_in_words():
    words = sparkline_words(6, [(7, 2, False), (31, 3, False), (150, 5, True)])
    assert words == (
        "Pain after the procedure (NRS 0-10): baseline 6/10, day 7: 2/10, day 31: 3/10, "
        "day 150: 5/10, pain back."
    )
    assert sparkline_words(None, []) == (
        "Pain after the procedure (NRS 0-10): no follow-up reading."
    )


def test_the_small_trajectory_is_a_small_svg_with_no_ids():
    svg = sparkline_svg(6, [(7, 2, False), (150, 5, False)])
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own SVG
    assert (int(root.get("width")), int(root.get("height"))) == SPARKLINE_SIZE
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == sparkline_words(6, [(7, 2, False), (150, 5, False)])
    # Several are written into one page: none may carry an id.
    assert not [element for element in root.iter() if element.get("id")]
    # The baseline (dashed) and the pain line from the baseline through each reading.
    lines = root.findall(f".//{SVG}polyline")
    assert any(line.get("stroke-dasharray") for line in lines)
    pain = next(line for line in lines if not line.get("stroke-dasharray"))
    assert len(pain.get("points").split()) == 3
    # The day of the last reading is at the right edge, 10/10 at the top.
    dots = root.findall(f"{SVG}circle")
    assert [float(dot.get("cx")) for dot in dots][-1] == SPARKLINE_SIZE[0] - 3
    # A first week is not stretched over the whole width.
    early = ElementTree.fromstring(sparkline_svg(6, [(7, 2, False)]))  # noqa: S314
    assert float(early.findall(f"{SVG}circle")[-1].get("cx")) < SPARKLINE_SIZE[0] / 2


def test_a_procedures_parameters_are_named_as_its_form_names_them(app):
    procedure = Procedure(
        distance_mm=60, cryo_cycles=2, cryo_freeze_minutes=3.5, cryo_probe_temperature_c=-70
    )
    with app.test_request_context():
        # Beside the technique's name, without it; the distance is said apart.
        assert procedure_parameters(procedure) == [
            ("freeze-thaw cycles", "2"),
            ("freeze time per cycle (minutes)", "3.5"),
            ("probe temperature (°C)", "-70"),
        ]


# --- in meeting mode ----------------------------------------------------------------------


def returning_case(meeting):
    """A patient treated by cryoneurolysis on 10 March 2026 (average pain 6),
    relieved (2/10 on 10 April), the pain back on 7 August, presented again and
    put on ``meeting``'s agenda."""
    procedure = make_procedure(
        performed_on=date(2026, 3, 10),
        cryo_cycles=2,
        cryo_freeze_minutes=3.0,
        cryo_probe_temperature_c=-70,
        adverse_event={"cirse_grade": 1, "description": "Bruise"},
    )
    assess(procedure, assessed_on=date(2026, 4, 10), nrs_average=2)
    assess(procedure, assessed_on=date(2026, 8, 7), nrs_now=6, nrs_average=5, nrs_worst=8)
    old = db.session.get(Referral, procedure.referral_id)
    again = followup_services.present_again(
        old,
        reason="Pain back five months after cryoneurolysis",
        question="Repeat cryoneurolysis?",
        patient_agreed_on=date(2026, 11, 2),
        pain_duration_months=24,
        by=make_user(roles={Role.CLINICIAN}),
    )
    item = meeting_services.add_to_agenda(meeting, again, by=None)
    db.session.commit()
    return procedure, old, item


def test_a_case_presented_again_opens_on_its_earlier_episode(client, auth):
    meeting = running_meeting(1)
    first = meeting.agenda[0]
    procedure, old, item = returning_case(meeting)
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    page = soup(client.get(f"/meetings/{meeting.id}/mode?item={item.id}"))
    pane = page.find(id="case-pane")
    pack = pane.find(id="returning-pack")
    # First in the case pane, before the case's own title.
    assert pane.find("section") is pack
    assert old.case_number in text(pack.find("h2"))
    assert pack.find("h2").a["href"] == f"/cases/{old.id}#followup"
    assert "Pain back five months after cryoneurolysis" in text(pack)
    decision = pack.find(id="pack-decision")
    assert decision.a["href"] == f"/decisions/{procedure.plan.decision_id}"
    proposed = f"Procedure proposed: {CRYO}, Third common digital nerve (Morton's neuroma) (Left)"
    assert proposed in text(decision)
    done = text(pack.find(id="pack-procedure"))
    assert done.startswith("10 Mar 2026 · Image guidance: Ultrasound · Anaesthesia: Local")
    assert "· 60 mm to the end organ" in done
    assert "· freeze-thaw cycles: 2 · freeze time per cycle (minutes): 3 ·" in done
    assert "probe temperature (°C): -70" in done
    assert "Worst adverse event: CIRSE grade 1" in done
    relief = pack.find(id="pack-relief")
    assert "Time to recurrence: 150 days (about 5 months)." in text(relief)
    assert "day 31: 2/10, day 150: 5/10" in relief.find("title").text
    assert "Eligible for re-discussion" in text(pack)
    reasons = [text(li) for li in pack.find(id="pack-verdict").find_all("li")]
    assert reasons == [
        "Responded: 67% less pain on 10 Apr 2026 (at least 50%).",
        "The pain has come back: only 17% less pain on 7 Aug 2026, under 30%.",
        "At least 42 days since the procedure of 10 Mar 2026.",
        "No adverse event of CIRSE grade 3 or worse.",
    ]
    # The earlier procedure, in the list of what was discussed before, with its trajectory.
    history = pane.find("section", attrs={"aria-labelledby": "history-title"})
    title = history.find("svg").find("title").text
    assert title == (
        "Pain after the procedure (NRS 0-10): baseline 6/10, day 31: 2/10, day 150: 5/10."
    )
    # Shown, so recorded: the case and the earlier one it brought on screen.
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == AuditAction.VIEW, AuditEntry.entity_type == "Referral")
        .order_by(AuditEntry.id)
    ).all()[-1]
    assert (entry.entity_type, entry.referral_id) == ("Referral", item.referral_id)
    assert entry.changes == {"page": "meeting", "previous": old.case_number}

    # A first presentation has no pack.
    page = soup(client.get(f"/meetings/{meeting.id}/mode?item={first.id}"))
    assert page.find(id="returning-pack") is None
    assert "Presented again" not in text(page.find(id="case-pane"))


def test_the_pack_and_the_small_trajectory_speak_french(client, auth):
    meeting = running_meeting(0)
    _procedure, _old, item = returning_case(meeting)
    auth.login_as(make_user(roles={Role.COORDINATOR}, locale="fr"))
    page = soup(client.get(f"/meetings/{meeting.id}/mode?item={item.id}"))
    pack = page.find(id="returning-pack")
    assert "Présenté de nouveau" in text(pack.find("h2"))
    assert "Délai de récidive\xa0: 150 jours (environ 5 mois)." in text(pack.find(id="pack-relief"))
    assert "Éligible à une nouvelle discussion" in text(pack)
    assert "cycles congélation-décongélation\xa0: 2" in text(pack)
    history = page.find("section", attrs={"aria-labelledby": "history-title"})
    assert history.find("svg").find("title").text == (
        "Douleur après le geste (EN 0-10)\xa0: initiale 6/10, J31\xa0: 2/10, J150\xa0: 5/10."
    )


def test_a_returning_patient_costs_no_more_queries_than_a_new_one(client, auth, count_queries):
    meeting = running_meeting(1)
    new = meeting.agenda[0]
    _procedure, _old, returning = returning_case(meeting)
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    urls = [f"/meetings/{meeting.id}/mode?item={item.id}" for item in (new, returning)]
    counts = []
    for url in urls:
        with count_queries() as counter:
            page = soup(client.get(url))
        counts.append(counter.count)
    assert page.find(id="returning-pack") is not None
    assert counts[0] == counts[1]
