"""The product's rules, checked on whatever is in the database: each check
returns what breaks a rule (empty when the data passes), in words a reader can
follow back to the case.

They read the data as the product stores it and ask the product's own rules
(``rules.py`` modules, and the services' read-only helpers) whether it could
have been written: demo and synthetic data must pass them like real data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.cases.contact import channel_problem, read_email, read_phone
from tracker.cases.models import CaseEvent, CaseEventKind, CaseNumberCounter, Patient, Referral
from tracker.cases.rules import (
    CASE_NUMBER_FORM,
    CaseStatus,
    birth_date_problem,
    can_transition,
    missing_fields,
    mrn_problem,
)
from tracker.core.errors import DomainError
from tracker.core.time import site_timezone, to_local
from tracker.decisions.models import Decision, Outcome, Procedure, ProcedurePlan
from tracker.decisions.rules import NON_NEGATIVE, check_cirse_grade, check_procedure
from tracker.decisions.rules import check_validation as check_decision
from tracker.decisions.services import decided_on
from tracker.extensions import db
from tracker.followups.models import (
    Assessment,
    AssessmentMode,
    CaseVerdict,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.rules import followup_plan
from tracker.followups.services import compute_verdict, window_for
from tracker.meetings.models import AgendaItem, ItemState, Meeting, MeetingStatus
from tracker.meetings.services import meeting_quorum
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import InvitationStatus, expires_at
from tracker.selfreport.services import ELECTRONIC
from tracker.selfreport.settings import LINK_DAYS, reminder_days
from tracker.web.permissions import Role


def _referrals() -> dict[int, Referral]:
    return {referral.id: referral for referral in db.session.scalars(select(Referral))}


def decisions_against_quorum(today: date) -> list[str]:
    """A decision is validated only with quorum, unless it postpones the case;
    it records the quorum the meeting's attendance gives; and it passes the
    rest of the validation (reasons, a plan with its technique and target)."""
    problems = []
    decisions = db.session.scalars(
        select(Decision).options(
            selectinload(Decision.referral),
            selectinload(Decision.plan),
            selectinload(Decision.meeting).selectinload(Meeting.attendance),
        )
    )
    for decision in decisions:
        if not decision.is_validated:
            continue
        case = decision.referral.case_number
        met = meeting_quorum(decision.meeting).is_met
        if decision.quorum_met is not met:
            problems.append(f"{case}: quorum recorded {decision.quorum_met}, attendance says {met}")
        try:
            check_decision(
                outcome=decision.outcome,
                reasons=decision.reasons,
                quorum_met=met,
                plan=decision.plan,
                attendance_validated=decision.meeting.attendance_validated_at is not None,
            )
        except DomainError as error:
            problems.append(f"{case}: {decision.outcome.name}: {error.message}")
    return problems


def postponed_cases_left_behind(today: date) -> list[str]:
    """A postponed case goes onto a later meeting's agenda, or back to the
    waiting list when no meeting has room."""
    problems = []
    later = defaultdict(list)
    for item, starts_at in db.session.execute(
        select(AgendaItem, Meeting.starts_at).join(Meeting, AgendaItem.meeting_id == Meeting.id)
    ):
        later[item.referral_id].append(starts_at)
    postponed = db.session.execute(
        select(Decision, Meeting.starts_at)
        .join(Meeting, Decision.meeting_id == Meeting.id)
        .where(Decision.outcome == Outcome.POSTPONED)
        .options(selectinload(Decision.referral))
    )
    for decision, starts_at in postponed:
        referral = decision.referral
        presented_again = any(moment > starts_at for moment in later[referral.id])
        if not presented_again and referral.status is not CaseStatus.REFERRED:
            problems.append(f"{referral.case_number}: postponed, then {referral.status.name}")
    return problems


def status_paths(today: date) -> list[str]:
    """Each case's timeline starts as a draft and moves only along the
    transition table, in time order, to the status the case has now."""
    problems = []
    referrals = _referrals()
    events = defaultdict(list)
    for event in db.session.scalars(select(CaseEvent).order_by(CaseEvent.id)):
        events[event.referral_id].append(event)
    for referral_id, referral in referrals.items():
        case = referral.case_number
        first, *moves = events[referral_id] or [None]
        if first is None or first.kind is not CaseEventKind.CREATED:
            problems.append(f"{case}: the timeline does not start with its registration")
            continue
        status, moment = first.to_status, first.occurred_at
        if status is not CaseStatus.DRAFT:
            problems.append(f"{case}: registered as {status}")
        for event in moves:
            if event.kind is not CaseEventKind.STATUS_CHANGED:
                continue
            if event.from_status is not status or not can_transition(status, event.to_status):
                problems.append(f"{case}: {status.name} -> {event.to_status.name}")
            if event.occurred_at < moment:
                problems.append(f"{case}: {event.to_status.name} before {status.name}")
            status, moment = event.to_status, event.occurred_at
        if status is not referral.status:
            problems.append(
                f"{case}: the timeline ends {status.name}, the case is {referral.status}"
            )
    return problems


def statuses_against_records(today: date) -> list[str]:
    """Each status goes with what the product records at that step."""
    problems = []
    pending = defaultdict(list)
    for item, meeting_status in db.session.execute(
        select(AgendaItem, Meeting.status).join(Meeting, AgendaItem.meeting_id == Meeting.id)
    ):
        if item.state is ItemState.PENDING:
            pending[item.referral_id].append(meeting_status)
    latest_decision = {}
    for decision in db.session.scalars(select(Decision).order_by(Decision.id)):
        latest_decision[decision.referral_id] = decision
    procedures = Counter(db.session.scalars(select(Procedure.referral_id)))
    assessed = Counter(db.session.scalars(select(Assessment.referral_id)))
    planned_left = Counter(
        db.session.scalars(
            select(FollowUp.referral_id).where(FollowUp.status == FollowUpStatus.PLANNED)
        )
    )
    recurrence = dict(
        db.session.execute(select(CaseVerdict.referral_id, CaseVerdict.recurrence)).all()
    )
    for referral in _referrals().values():
        status, case = referral.status, referral.case_number
        decision = latest_decision.get(referral.id)
        outcome = decision.outcome if decision is not None else None
        complete = not missing_fields(referral)
        wrong = None
        if (status is CaseStatus.DRAFT) is complete:
            wrong = "a complete draft" if complete else "incomplete but not a draft"
        elif status is CaseStatus.SCHEDULED and pending[referral.id] != [MeetingStatus.PLANNED]:
            wrong = f"on the agenda of {pending[referral.id]} meetings"
        elif status is not CaseStatus.SCHEDULED and pending[referral.id]:
            wrong = "still on an agenda"
        elif status is CaseStatus.DISCUSSED and outcome is not Outcome.FURTHER_INVESTIGATION:
            wrong = f"discussed, last decided {outcome}"
        elif status is CaseStatus.PLANNED and (
            outcome is not Outcome.PROCEDURE_PROPOSED or procedures[referral.id]
        ):
            wrong = f"planned after {outcome}, {procedures[referral.id]} procedures"
        elif status in (CaseStatus.TREATED, CaseStatus.FOLLOW_UP) and not procedures[referral.id]:
            wrong = "no procedure recorded"
        elif status is CaseStatus.TREATED and assessed[referral.id]:
            wrong = "assessed but not in follow-up"
        elif status is CaseStatus.FOLLOW_UP and not assessed[referral.id]:
            wrong = "in follow-up without an assessment"
        elif status is CaseStatus.CLOSED and procedures[referral.id]:
            if planned_left[referral.id] or recurrence.get(referral.id):
                wrong = "closed with follow-ups planned or the pain back"
        elif status is CaseStatus.WITHDRAWN and not referral.withdrawn_reason:
            wrong = "withdrawn without a reason"
        if wrong:
            problems.append(f"{case} ({status.name}): {wrong}")
    return problems


def agendas(today: date) -> list[str]:
    """No agenda beyond its meeting's capacity, a case on one agenda at a time,
    nothing left pending on a meeting held, decisions on the lines discussed."""
    problems = []
    meetings = {meeting.id: meeting for meeting in db.session.scalars(select(Meeting))}
    items = list(db.session.scalars(select(AgendaItem)))
    by_meeting = defaultdict(list)
    pending_cases = Counter()
    for item in items:
        by_meeting[item.meeting_id].append(item)
        if item.state is ItemState.PENDING:
            pending_cases[item.referral_id] += 1
            if meetings[item.meeting_id].status is not MeetingStatus.PLANNED:
                problems.append(f"item {item.id}: pending on a meeting {item.meeting.status}")
    for meeting_id, lines in by_meeting.items():
        meeting = meetings[meeting_id]
        kept = [line for line in lines if line.state is not ItemState.REMOVED]
        if len(kept) > meeting.capacity:
            problems.append(f"meeting {meeting_id}: {len(kept)} cases for {meeting.capacity}")
        positions = [line.position for line in lines]
        if len(set(positions)) != len(positions):
            problems.append(f"meeting {meeting_id}: two cases at one position")
    problems += [f"referral {rid}: pending twice" for rid, n in pending_cases.items() if n > 1]
    by_id = {item.id: item for item in items}
    for decision in db.session.scalars(select(Decision)):
        item = by_id[decision.agenda_item_id]
        if (item.meeting_id, item.referral_id) != (decision.meeting_id, decision.referral_id):
            problems.append(f"decision {decision.id}: not its agenda line's case or meeting")
        if item.state is not ItemState.DISCUSSED:
            problems.append(f"decision {decision.id}: its agenda line is {item.state.name}")
    return problems


def procedures_against_decisions(today: date) -> list[str]:
    """No procedure before its decision, nor in the future; the plan it
    follows was proposed and validated; a change of technique says why;
    operators are radiologists; adverse events graded 1 to 6."""
    problems = []
    procedures = db.session.scalars(
        select(Procedure).options(
            selectinload(Procedure.plan).selectinload(ProcedurePlan.decision),
            selectinload(Procedure.operators),
            selectinload(Procedure.adverse_events),
            selectinload(Procedure.referral),
        )
    )
    for procedure in procedures:
        case = procedure.referral.case_number
        decision = procedure.plan.decision
        if not decision.is_validated or decision.outcome is not Outcome.PROCEDURE_PROPOSED:
            problems.append(f"{case}: performed after a decision {decision.outcome}")
        if procedure.plan.referral_id != procedure.referral_id:
            problems.append(f"{case}: performed on another case's plan")
        values = {
            name: getattr(procedure, name)
            for name in ("performed_on", "technique_id", "deviation_reason", *NON_NEGATIVE)
        }
        try:
            check_procedure(
                values,
                decided_on=decided_on(decision),
                today=today,
                planned_technique_id=procedure.plan.technique_id,
            )
            for event in procedure.adverse_events:
                check_cirse_grade(event.cirse_grade)
        except DomainError as error:
            problems.append(f"{case}: {error.message}")
        if not procedure.operators or not all(
            user.has_role(Role.RADIOLOGIST) for user in procedure.operators
        ):
            problems.append(f"{case}: operators {procedure.operators}")
    return problems


def followup_schedules(today: date) -> list[str]:
    """Each procedure's follow-ups are those its technique's schedule and the
    regrowth window plan (``followup_plan``), with the site's settings."""
    problems = []
    planned = defaultdict(set)
    for followup in db.session.scalars(select(FollowUp)):
        window = (followup.window_start_on, followup.window_end_on)
        planned[followup.procedure_id].add(
            (followup.kind, followup.offset_days, followup.due_on, window)
        )
    procedures = db.session.scalars(
        select(Procedure).options(
            selectinload(Procedure.technique),
            selectinload(Procedure.plan),
            selectinload(Procedure.referral),
        )
    )
    for procedure in procedures:
        expected = {
            (
                FollowUpKind.REGROWTH if check.regrowth else FollowUpKind.SCHEDULED,
                check.offset_days,
                check.due_on,
                check.window,
            )
            for check in followup_plan(
                procedure.performed_on,
                procedure.technique.followup_days or [],
                window_for(procedure),
                procedure.technique.followup_windows,
            )
        }
        if planned[procedure.id] != expected:
            wrong = sorted((days, due_on) for _kind, days, due_on, _window in planned[procedure.id])
            problems.append(f"{procedure.referral.case_number}: follow-ups {wrong}")
    return problems


def assessments_against_procedures(today: date) -> list[str]:
    """No assessment before its procedure nor in the future; an assessment
    belongs to its case's procedure and to that procedure's follow-up; pain
    scores from 0 to 10; a follow-up done has its assessment."""
    problems = []
    rows = db.session.execute(
        select(Assessment, Procedure.performed_on, Procedure.referral_id).join(
            Procedure, Assessment.procedure_id == Procedure.id
        )
    )
    followups = {followup.id: followup for followup in db.session.scalars(select(FollowUp))}
    assessed = set()
    for assessment, performed_on, procedure_referral in rows:
        where = f"assessment {assessment.id} of {assessment.assessed_on}"
        if assessment.assessed_on < performed_on:
            problems.append(f"{where}: before its procedure of {performed_on}")
        if assessment.assessed_on > today:
            problems.append(f"{where}: in the future")
        if procedure_referral != assessment.referral_id:
            problems.append(f"{where}: of another case's procedure")
        scores = (assessment.nrs_now, assessment.nrs_average, assessment.nrs_worst)
        if any(score is not None and not 0 <= score <= 10 for score in scores):
            problems.append(f"{where}: scores {scores}")
        if assessment.followup_id is not None:
            followup = followups[assessment.followup_id]
            assessed.add(followup.id)
            if followup.procedure_id != assessment.procedure_id:
                problems.append(f"{where}: for another procedure's follow-up")
            if followup.status is not FollowUpStatus.DONE:
                problems.append(f"{where}: its follow-up is {followup.status.name}")
    for followup in followups.values():
        if followup.status is FollowUpStatus.DONE and followup.id not in assessed:
            problems.append(f"follow-up {followup.id}: done without an assessment")
    return problems


def invitations(today: date) -> list[str]:
    """An invitation goes to a patient reached online (``rules.expires_at``: its
    link ends with the window, and at most ``LINK_DAYS`` after it was sent),
    within its time point's window, with reminders at the set days, two at most
    and before the link ends; it is answered by a patient-reported assessment of
    its own time point, and such an assessment always answers an invitation."""
    problems = []
    zone = site_timezone()
    after = reminder_days()
    answering: dict[int, int] = {}
    invited = db.session.scalars(
        select(Invitation).options(
            selectinload(Invitation.followup), selectinload(Invitation.assessment)
        )
    )
    for invitation in invited:
        where = f"invitation {invitation.id}"
        followup = invitation.followup
        if (invitation.referral_id, invitation.patient_id) != (
            followup.referral_id,
            db.session.get(Referral, followup.referral_id).patient_id,
        ):
            problems.append(f"{where}: of another case or patient than its follow-up")
        if invitation.channel not in ELECTRONIC:
            problems.append(f"{where}: sent by {invitation.channel.name}")
        created_on = to_local(invitation.created_at).date()
        if followup.window_start_on is None or not (
            followup.window_start_on <= created_on <= followup.window_end_on
        ):
            problems.append(f"{where}: made on {created_on}, outside its window")
        elif invitation.expires_at != expires_at(
            invitation.created_at, followup.window_end_on, zone, LINK_DAYS.value
        ):
            problems.append(f"{where}: its link ends on {invitation.expires_at}")
        if invitation.reminders_sent > len(after):
            problems.append(f"{where}: {invitation.reminders_sent} reminders")
        if invitation.last_reminded_at is not None and (
            invitation.sent_at is None
            or invitation.expires_at is None
            or not invitation.sent_at < invitation.last_reminded_at < invitation.expires_at
        ):
            problems.append(f"{where}: reminded on {invitation.last_reminded_at}")
        answered = invitation.status is InvitationStatus.ANSWERED
        assessment = invitation.assessment
        if answered != (assessment is not None):
            problems.append(f"{where}: {invitation.status.name} with assessment {assessment}")
        if assessment is not None:
            answering[assessment.id] = invitation.id
            if assessment.mode is not AssessmentMode.SELF_REPORTED:
                problems.append(f"{where}: answered by a {assessment.mode.name} assessment")
            if assessment.followup_id not in (None, followup.id):
                problems.append(f"{where}: answered for another time point")
            if invitation.answered_at is None or not (
                invitation.created_at <= invitation.answered_at < invitation.expires_at
            ):
                problems.append(f"{where}: answered on {invitation.answered_at}")
    for assessment_id in db.session.scalars(
        select(Assessment.id).where(Assessment.mode == AssessmentMode.SELF_REPORTED)
    ):
        if assessment_id not in answering:
            problems.append(f"assessment {assessment_id}: patient-reported without a link")
    return problems


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def verdicts(today: date) -> list[str]:
    """Every treated case keeps the verdict the retreatment rule gives today
    on its data (``compute_verdict``, as the product refreshes it)."""
    problems = []
    rows = {row.referral_id: row for row in db.session.scalars(select(CaseVerdict))}
    treated = set(db.session.scalars(select(Procedure.referral_id)))
    referrals = _referrals()
    if set(rows) != treated:
        missing = sorted(referrals[rid].case_number for rid in treated - set(rows))
        extra = sorted(referrals[rid].case_number for rid in set(rows) - treated)
        problems.append(f"verdicts missing for {missing}, kept without procedure for {extra}")
    for referral_id, row in rows.items():
        verdict = compute_verdict(referrals[referral_id], today)
        expected = (
            verdict.kind,
            verdict.eligible_from,
            verdict.recurrence,
            verdict.partial,
            [
                {"code": reason.code, "values": {k: _plain(v) for k, v in reason.values.items()}}
                for reason in verdict.reasons
            ],
        )
        stored = (row.kind, row.eligible_from, row.recurrence, row.partial, row.reasons)
        if stored != expected:
            problems.append(f"{referrals[referral_id].case_number}: {stored} != {expected}")
    return problems


def case_numbers(today: date) -> list[str]:
    """Case numbers are unique, of the product's form, of the referral's year,
    given in order in each year, and the year's counter knows the last one."""
    problems = []
    given = defaultdict(list)
    seen = Counter()
    for number, referral_on in db.session.execute(
        select(Referral.case_number, Referral.referral_on)
    ):
        seen[number] += 1
        match = CASE_NUMBER_FORM.fullmatch(number)
        if match is None or int(match["year"]) != referral_on.year:
            problems.append(f"{number}: not a case number of {referral_on.year}")
            continue
        given[referral_on.year].append(int(match["number"]))
    problems += [f"{number}: given {n} times" for number, n in seen.items() if n > 1]
    counters = dict(
        db.session.execute(select(CaseNumberCounter.year, CaseNumberCounter.last_number)).all()
    )
    for year, numbers in given.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(f"{year}: numbers skipped or repeated")
        if counters.get(year) != max(numbers):
            problems.append(f"{year}: counter at {counters.get(year)}, last given {max(numbers)}")
    return problems


def patients(today: date) -> list[str]:
    """Hospital numbers of the expected form and unique; birth dates possible;
    contact details as the contact rules store them; referral dates not in the
    future."""
    problems = []
    pattern = current_app.config["MRN_PATTERN"]
    mrns = Counter()
    for patient in db.session.scalars(select(Patient)):
        mrns[patient.mrn] += 1
        problem = mrn_problem(patient.mrn, pattern) or birth_date_problem(patient.birth_on, today)
        if problem:
            problems.append(f"patient {patient.id}: {problem}")
        problems += [
            f"patient {patient.id}: {problem}" for problem in _contact_problems(patient, today)
        ]
    problems += [f"{mrn}: {n} patients" for mrn, n in mrns.items() if n > 1]
    for referral in _referrals().values():
        dates = (referral.referral_on, referral.patient_agreed_on)
        if any(day is not None and day > today for day in dates):
            problems.append(f"{referral.case_number}: dated in the future {dates}")
    return problems


def _contact_problems(patient: Patient, today: date) -> list[Any]:
    problems = []
    try:
        for phone in patient.phones:
            if read_phone(phone) != phone:
                problems.append(f"{phone} is not stored as E.164")
        if patient.email is not None and read_email(patient.email) != patient.email:
            problems.append(f"{patient.email} is not stored as the rules store it")
    except DomainError as error:
        problems.append(error.message)
    if patient.phone_2 and not patient.phone_1:
        problems.append("a second phone without a first")
    problem = channel_problem(patient.preferred_channel, patient.phones, patient.email)
    if problem:
        problems.append(problem)
    consent = (patient.contact_consent_on, patient.contact_consent_by_id)
    if (consent[0] is None) != (consent[1] is None):
        problems.append(f"consent to be contacted half recorded {consent}")
    if consent[0] is not None and consent[0] > today:
        problems.append(f"consent to be contacted dated in the future {consent[0]}")
    return problems


#: Every check, in the order of a case's life.
CHECKS = (
    patients,
    case_numbers,
    status_paths,
    statuses_against_records,
    agendas,
    decisions_against_quorum,
    postponed_cases_left_behind,
    procedures_against_decisions,
    followup_schedules,
    assessments_against_procedures,
    invitations,
    verdicts,
)


def everything(today: date) -> dict[str, list[str]]:
    """What breaks each rule, by check."""
    return {check.__name__: check(today) for check in CHECKS}
