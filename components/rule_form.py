"""The rule form of the Rules page: the same fields for a new rule and for editing one.

Decisions, and why:

- One form for both, so New rule and Edit cannot drift apart: ``rule_form``
  draws it (blank, or pre-filled from a saved rule) and answers the draft
  when it is submitted; the page hands that to the rules service, which
  checks it the way the API's POST and PUT are checked.
- Widget keys carry the form's prefix (``rules_new``, ``rules_<id>_form``), so
  several forms can be open on the page without sharing state.
- An edit keeps the rule's paused state: Enable and Pause stay the buttons
  that change it, after a dry run.
- A refusal is shown under the form that was submitted (the message, then
  each field error), and the form keeps what was typed.
"""

from __future__ import annotations

import streamlit as st

from lib.store.rules import RuleConditions, RuleDraft, TicketRule, TicketTemplate

GROUPS = {"none": "No grouping", "table": "Table", "datastore": "Datastore", "check": "Check"}
ACTIONS = {"ticket": "Make a ticket", "skip": "Do not ticket"}
ANOMALY_TYPES = ["shape", "record"]
BLANK = RuleDraft("")


def words(text: str) -> tuple[str, ...]:
    """Comma-separated text as its non-empty parts."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _joined(values) -> str:
    return ", ".join(values)


def _conditions(prefix: str, datastores: dict[int, str], given: RuleConditions) -> RuleConditions:
    st.markdown("**When** (empty: any)")
    # A datastore the rule names but no anomaly comes from now stays choosable.
    known = {**{i: f"datastore {i}" for i in given.datastore_ids}, **datastores}
    picked = st.multiselect(
        "Datastores",
        list(known),
        default=list(given.datastore_ids),
        key=f"{prefix}_datastores",
        format_func=lambda i: f"{known[i]} ({i})",
    )
    c1, c2 = st.columns(2)
    tables = c1.text_input(
        "Tables (comma-separated)", _joined(given.containers), key=f"{prefix}_tables"
    )
    types = c2.multiselect(
        "Anomaly types",
        ANOMALY_TYPES,
        default=[t for t in given.anomaly_types if t in ANOMALY_TYPES],
        key=f"{prefix}_types",
    )
    weight_min = c1.number_input(
        "Weight at least", min_value=0, value=given.weight_min, key=f"{prefix}_wmin"
    )
    weight_max = c2.number_input(
        "Weight at most", min_value=0, value=given.weight_max, key=f"{prefix}_wmax"
    )
    tags = c1.text_input("Any of the tags", _joined(given.tags), key=f"{prefix}_tags")
    checks = c2.text_input(
        "Failed check's rule type (any of)", _joined(given.rule_types), key=f"{prefix}_checks"
    )
    return RuleConditions(
        tuple(picked),
        words(tables),
        tuple(types),
        weight_min,
        weight_max,
        words(tags),
        words(checks),
    )


def _ticket(prefix: str, given: TicketTemplate) -> TicketTemplate:
    st.markdown("**Ticket** (empty: the connection's defaults)")
    t1, t2, t3 = st.columns(3)
    project = t1.text_input("Project", given.project or "", key=f"{prefix}_project")
    issue_type = t2.text_input("Issue type", given.issue_type or "", key=f"{prefix}_issue_type")
    priority = t3.text_input("Priority", given.priority or "", key=f"{prefix}_priority")
    labels = t1.text_input(
        "Labels (comma-separated)", _joined(given.labels), key=f"{prefix}_labels"
    )
    components = t2.text_input("Components", _joined(given.components), key=f"{prefix}_components")
    assignee = t3.text_input(
        "Assignee (account id / user name)", given.assignee or "", key=f"{prefix}_assignee"
    )
    return TicketTemplate(project, issue_type, priority, words(labels), words(components), assignee)


def rule_form(
    prefix: str, datastores: dict[int, str], rule: TicketRule | None = None
) -> RuleDraft | None:
    """The form, blank or pre-filled from ``rule``; the draft when Save was pressed, else None.

    For an edit (``rule`` given) a Cancel button sits beside Save; pressing it
    answers None and sets ``<prefix>_cancelled`` in session state.
    """
    given = rule.as_draft() if rule is not None else BLANK
    with st.form(prefix, border=True):
        name = st.text_input("Name", given.name, key=f"{prefix}_name", max_chars=100)
        action = st.radio(
            "Then",
            list(ACTIONS),
            index=list(ACTIONS).index(given.action) if given.action in ACTIONS else 0,
            horizontal=True,
            key=f"{prefix}_action",
            format_func=ACTIONS.get,
        )
        conditions = _conditions(prefix, datastores, given.conditions)
        ticket = _ticket(prefix, given.ticket)
        g1, g2, g3 = st.columns(3)
        group_by = g1.selectbox(
            "One ticket per",
            list(GROUPS),
            index=list(GROUPS).index(given.group_by) if given.group_by in GROUPS else 0,
            key=f"{prefix}_group",
            format_func=GROUPS.get,
        )
        window = g2.number_input(
            "Within (minutes)", min_value=1, value=given.window_minutes, key=f"{prefix}_window"
        )
        reopen = g3.number_input(
            "Reopen if closed under (days)",
            min_value=0,
            value=given.reopen_days,
            key=f"{prefix}_reopen",
        )
        buttons = st.container(horizontal=True)
        label = "Save (paused)" if rule is None else "Save changes"
        submitted = buttons.form_submit_button(label, key=f"{prefix}_save", type="primary")
        cancelled = rule is not None and buttons.form_submit_button(
            "Cancel", key=f"{prefix}_cancel"
        )
    if cancelled:
        st.session_state[f"{prefix}_cancelled"] = True
        return None
    if not submitted:
        return None
    return RuleDraft(
        name, action, conditions, ticket, group_by, int(window), int(reopen), given.paused
    )


def show_refusal(message: str, field_errors: dict[str, str]) -> None:
    """Why the service refused the form: the message, then each field's error."""
    st.error(message)
    for field, error in field_errors.items():
        st.caption(f"{field}: {error}")
