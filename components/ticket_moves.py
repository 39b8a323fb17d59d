"""The Connect page's "Move linked tickets in Jira" setting for one connection.

A widget of its own so the page stays a list of sections. Off by default;
saved through the connections service (``save_ticket_moves``), which refuses
a transition id that is not a number with a message shown under its field.
"""

from __future__ import annotations

import streamlit as st

from components.common import services
from lib.connections.models import (
    Connection,
    ConnectionCheckFailed,
    InvalidConnectionInput,
    TicketMoves,
)

TRANSITION_BY = {"By status category (Done)": "category", "By transition id": "id"}
EXPLAINED = (
    "Archive: into the Done category, with the resolution mapped from the reason "
    "(Resolved: Fixed, else Done; Duplicate: Duplicate; Invalid and Discarded: Won't Do) "
    "when the transition's screen has it. Reopen: out of Done (In Progress, else To Do). "
    "The status comment is sent either way; when the workflow refuses, a second comment "
    "says so and the Log shows why."
)


def moves_section(conn: Connection) -> None:
    with st.expander("Move linked tickets in Jira", expanded=conn.move_tickets):
        enabled = st.toggle(
            "Move linked tickets in Jira when an anomaly is archived or reopened",
            value=conn.move_tickets,
            key=f"connect_moves_on_{conn.id}",
        )
        st.caption(EXPLAINED)
        labels = list(TRANSITION_BY)
        current = next(k for k, v in TRANSITION_BY.items() if v == conn.transition_by)
        by = st.radio(
            "Find the transition",
            labels,
            index=labels.index(current),
            horizontal=True,
            key=f"connect_moves_by_{conn.id}",
        )
        done = reopen = ""
        if TRANSITION_BY[by] == "id":
            done = st.text_input(
                "Transition id into Done",
                value=conn.done_transition_id or "",
                key=f"connect_moves_done_{conn.id}",
            )
            _field_error(conn, "done_transition_id")
            reopen = st.text_input(
                "Transition id out of Done (empty: by status category)",
                value=conn.reopen_transition_id or "",
                key=f"connect_moves_reopen_{conn.id}",
            )
            _field_error(conn, "reopen_transition_id")
            _lookup(conn)
        if st.button("Save ticket moves", key=f"connect_moves_save_{conn.id}"):
            _save(conn, TicketMoves(enabled, TRANSITION_BY[by], done, reopen))


def _lookup(conn: Connection) -> None:
    """A ticket's transitions with their ids, so an id is chosen, never typed from a name."""
    key = st.text_input("Find the ids: a ticket's key", key=f"connect_moves_lookup_key_{conn.id}")
    if not st.button("Show its transitions", key=f"connect_moves_lookup_{conn.id}"):
        return
    try:
        offered = services().connect.transitions_of(conn, key)
    except (InvalidConnectionInput, ConnectionCheckFailed) as exc:
        st.error(str(exc))
        return
    if not offered:
        st.info(f"{key.strip().upper()} offers no transitions to this account now.")
        return
    st.dataframe(
        [
            {"id": t.id, "transition": t.name, "to status": t.to_status, "category": t.to_category}
            for t in offered
        ],
        hide_index=True,
        key=f"connect_moves_lookup_table_{conn.id}",
    )


def _scope(conn: Connection) -> str:
    return f"connect_moves_error_{conn.id}"


def _field_error(conn: Connection, field: str) -> None:
    found = st.session_state.get(_scope(conn))
    if found and found[0] == field:
        st.error(found[1])


def _save(conn: Connection, moves: TicketMoves) -> None:
    st.session_state.pop(_scope(conn), None)
    try:
        services().connect.save_ticket_moves(conn.id, moves)
    except InvalidConnectionInput as exc:
        st.session_state[_scope(conn)] = (exc.field, exc.message)
    else:
        state = "on" if moves.enabled else "off"
        st.session_state["connect_flash"] = ("success", f"Ticket moves saved: {state}.")
    st.rerun()
