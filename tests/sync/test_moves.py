"""The pure rules of a ticket move: which transition, which resolution, what is said."""

from __future__ import annotations

import pytest

from lib.connections.models import InvalidConnectionInput, TicketMoves
from lib.connections.validation import validate_ticket_moves
from lib.jira.records import AllowedValue, FieldMeta, Transition
from lib.outbox import moves
from lib.outbox.moves import MovePlan, MoveTarget
from lib.store.connections import TicketMovesRecord, TransitionBy


def screen(*names: str, required: bool = False) -> tuple[FieldMeta, ...]:
    values = tuple(AllowedValue(str(n), name) for n, name in enumerate(names, start=1))
    return (FieldMeta("resolution", "Resolution", required, "resolution", values),)


TO_DO = Transition("11", "Reopen", "To Do", "new")
START = Transition("21", "Start", "In Progress", "indeterminate")
CLOSE = Transition("31", "Close", "Closed", "done", screen("Done", "Won’t Do", "Duplicate"))


@pytest.mark.parametrize(
    ("before", "after", "target"),
    [
        ("Active", "Archived", MoveTarget.DONE),
        ("Acknowledged", "Archived", MoveTarget.DONE),
        ("Archived", "Active", MoveTarget.OUT_OF_DONE),
        ("Archived", "Acknowledged", MoveTarget.OUT_OF_DONE),
        ("Archived", "Archived", None),  # a new reason only
        ("Active", "Acknowledged", None),
        (None, "Archived", MoveTarget.DONE),
    ],
)
def test_move_target(before, after, target):
    assert moves.move_target(before, after) is target


@pytest.mark.parametrize(
    ("category", "target", "there"),
    [
        ("done", MoveTarget.DONE, True),
        ("indeterminate", MoveTarget.DONE, False),
        ("new", MoveTarget.OUT_OF_DONE, True),
        ("done", MoveTarget.OUT_OF_DONE, False),
        (None, MoveTarget.OUT_OF_DONE, False),
    ],
)
def test_already_there(category, target, there):
    assert moves.already_there(category, target) is there


def test_pick_by_category_never_by_name():
    renamed = Transition("41", "Erledigt", "Erledigt", "done")
    assert moves.pick_transition([TO_DO, renamed], MovePlan(MoveTarget.DONE), "To Do") is renamed
    out = MovePlan(MoveTarget.OUT_OF_DONE)
    assert moves.pick_transition([TO_DO, START], out, "Done") is START
    assert moves.pick_transition([TO_DO], out, "Done") is TO_DO


def test_pick_by_id_and_the_words_of_a_refusal():
    plan = MovePlan(MoveTarget.DONE, transition_id="21")
    assert moves.pick_transition([START, CLOSE], plan, "To Do") is START
    missing = moves.pick_transition([CLOSE], MovePlan(MoveTarget.DONE, transition_id="7"), "To Do")
    assert missing == "transition 7 is not available from 'To Do' (offered: 31 to done)"
    none = moves.pick_transition([TO_DO], MovePlan(MoveTarget.DONE), "In Review")
    assert none == (
        "no transition into the Done category is available from 'In Review' (offered: 11 to new)"
    )
    assert "offered: none" in moves.pick_transition([], MovePlan(MoveTarget.OUT_OF_DONE), "Done")


@pytest.mark.parametrize(
    ("reason", "names", "sent"),
    [
        ("Resolved", ("Fixed", "Done"), "1"),
        ("Resolved", ("Done", "Fixed"), "2"),  # Fixed is preferred wherever it is listed
        ("Resolved", ("Done",), "1"),
        ("Duplicate", ("Done", "duplicate"), "2"),  # case does not matter
        ("Invalid", ("Won’t Do",), "1"),  # nor the apostrophe's shape
        ("Discarded", ("Won't Do", "Done"), "1"),
    ],
)
def test_resolution_from_the_reason_among_the_allowed_values(reason, names, sent):
    close = Transition("31", "Close", "Closed", "done", screen(*names))
    fields, why = moves.resolution_fields(close, MovePlan(MoveTarget.DONE, reason))
    assert (fields, why) == ({"resolution": {"id": sent}}, None)
    assert moves.resolution_name(close, fields) == names[int(sent) - 1]


def test_no_resolution_without_the_field_or_when_reopening():
    assert moves.resolution_fields(START, MovePlan(MoveTarget.DONE, "Resolved")) == (None, None)
    assert moves.resolution_fields(CLOSE, MovePlan(MoveTarget.OUT_OF_DONE)) == (None, None)


def test_an_optional_resolution_that_fits_nothing_is_left_out_a_required_one_refuses():
    optional = Transition("31", "Close", "Closed", "done", screen("Erledigt"))
    assert moves.resolution_fields(optional, MovePlan(MoveTarget.DONE, "Duplicate")) == (None, None)
    required = Transition("31", "Close", "Closed", "done", screen("Erledigt", required=True))
    fields, why = moves.resolution_fields(required, MovePlan(MoveTarget.DONE, "Resolved"))
    assert fields is None
    assert why == "the screen requires a resolution and Fixed or Done is not allowed (Erledigt)"


def test_the_plan_survives_the_row_and_a_row_without_one_is_a_bug():
    plan = MovePlan(MoveTarget.DONE, "Invalid", "31", "[t] Anomaly Status: Archived (Invalid)")
    assert MovePlan.from_request({**plan.to_request(), "sent": {}}) == plan
    with pytest.raises(ValueError):
        MovePlan.from_request({})


def test_refusal_texts():
    plan = MovePlan(MoveTarget.DONE, "Resolved", status_text="[t] Anomaly Status: Archived")
    assert moves.refused_comment(plan, "no") == (
        "[t] Anomaly Status: Archived. Anomaly Desk could not move this ticket to Done, "
        "the workflow refused: no. Please move it by hand."
    )
    assert moves.refused_log_text("no") == (
        "transition refused by the workflow: no; status comment sent instead"
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (TicketMoves(), TicketMovesRecord()),
        (TicketMoves(True), TicketMovesRecord(True)),
        (TicketMoves(True, "category", "31"), TicketMovesRecord(True)),  # ids only by id
        (TicketMoves(True, "id", " 31 "), TicketMovesRecord(True, TransitionBy.ID, "31")),
        (TicketMoves(True, "id", "31", "21"), TicketMovesRecord(True, TransitionBy.ID, "31", "21")),
    ],
)
def test_validate_ticket_moves(given, stored):
    assert validate_ticket_moves(given) == stored


@pytest.mark.parametrize(
    ("given", "field"),
    [
        (TicketMoves(True, "name"), "transition_by"),
        (TicketMoves(True, "id", ""), "done_transition_id"),
        (TicketMoves(True, "id", "Done"), "done_transition_id"),
        (TicketMoves(True, "id", "31", "-1"), "reopen_transition_id"),
    ],
)
def test_validate_ticket_moves_refuses(given, field):
    with pytest.raises(InvalidConnectionInput) as refused:
        validate_ticket_moves(given)
    assert refused.value.field == field


def test_the_setting_is_kept_per_connection_the_demo_one_included(tmp_path):
    from cryptography.fernet import Fernet

    from lib.connections.connection_store import ConnectionStore
    from lib.connections.secret_box import SecretBox
    from lib.settings import load_settings
    from lib.store.connections import DEMO_ID, ConnectionRepository
    from lib.store.db import Database

    db = Database(tmp_path / "moves.duckdb")
    settings = load_settings({"ANOMALY_DESK_DB": str(tmp_path / "moves.duckdb")})
    store = ConnectionStore(db, SecretBox(Fernet.generate_key()), settings)
    assert store.active().move_tickets is False  # off by default
    saved = store.save_ticket_moves(DEMO_ID, TicketMoves(True, "id", "31"))
    assert (saved.move_tickets, saved.transition_by, saved.done_transition_id) == (True, "id", "31")
    assert store.active().is_demo and store.active().move_tickets is True
    with db.read() as cur:
        found = ConnectionRepository.ticket_moves_in(cur, [DEMO_ID, 7])
    assert found == {DEMO_ID: TicketMovesRecord(True, TransitionBy.ID, "31", None)}
    with db.read() as cur:
        assert ConnectionRepository.ticket_moves_in(cur) == found  # every connection
    store.save_ticket_moves(DEMO_ID, TicketMoves(False))
    with db.read() as cur:
        assert ConnectionRepository.ticket_moves_in(cur, [DEMO_ID]) == {}
        assert ConnectionRepository.ticket_moves_in(cur, []) == {}
        assert ConnectionRepository.ticket_moves_in(cur) == {}
    db.close()
