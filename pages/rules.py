"""Rules: auto-ticket rules in order (first match wins), each with a dry run, pause and delete.

Thin: it reads the form, calls the rules service and shows what it answers.
A new rule is saved paused; its dry run shows what it would do to the
anomalies present now, then Enable lets it run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.common import services
from lib.store.rules import RuleConditions, RuleDraft, TicketRule, TicketTemplate
from lib.tickets.rules import RuleRefused, step_rows

rules = services().rules
GROUPS = {"none": "No grouping", "table": "Table", "datastore": "Datastore", "check": "Check"}

st.title("Rules")
st.caption(
    "Rules make tickets for anomalies as they arrive (import, API) and every few minutes. "
    "The first rule that matches an anomaly decides; paused rules are passed over. "
    "Everything they send is logged as Automatic, under the update limit."
)
if rules.paused() is not None:  # the every-page banner above says why, with Resume
    st.caption("Rules wait while automation is paused; Resume on the banner lets them run.")


def words(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def describe(rule: TicketRule) -> str:
    c = rule.conditions
    parts = [
        f"datastores {', '.join(map(str, c.datastore_ids))}" if c.datastore_ids else "",
        f"tables {', '.join(c.containers)}" if c.containers else "",
        f"types {', '.join(c.anomaly_types)}" if c.anomaly_types else "",
        f"weight ≥ {c.weight_min}" if c.weight_min is not None else "",
        f"weight ≤ {c.weight_max}" if c.weight_max is not None else "",
        f"tags {', '.join(c.tags)}" if c.tags else "",
        f"checks {', '.join(c.rule_types)}" if c.rule_types else "",
    ]
    when = "; ".join(p for p in parts if p) or "every anomaly"
    if rule.action == "skip":
        return f"When {when}: do not ticket."
    group = (
        ""
        if rule.group_by == "none"
        else (f", one ticket per {rule.group_by} within {rule.window_minutes} min")
    )
    return f"When {when}: ticket{group}; reopen if closed under {rule.reopen_days} days ago."


def rule_row(rule: TicketRule) -> None:
    prefix = f"rules_{rule.id}"
    state = "Paused" if rule.paused else "Enabled"
    with st.container(border=True):
        st.markdown(f"**{rule.position}. {rule.name}** · {state}")
        st.caption(describe(rule))
        c1, c2, c3, c4 = st.columns(4)
        if c1.button("Dry run", key=f"{prefix}_dry"):
            try:
                st.session_state[f"{prefix}_plan"] = step_rows(rules.dry_run(rule.id))
            except RuleRefused as exc:
                st.error(str(exc))
        toggle = "Enable" if rule.paused else "Pause"
        if c2.button(toggle, key=f"{prefix}_toggle"):
            rules.set_paused(rule.id, not rule.paused)
            st.rerun()
        if c3.button("Move up", key=f"{prefix}_up", disabled=rule.position == 1):
            rules.move(rule.id, rule.position - 1)
            st.rerun()
        if c4.button("Delete", key=f"{prefix}_delete"):
            st.session_state[f"{prefix}_confirm"] = True
        if st.session_state.get(f"{prefix}_confirm"):
            confirm_delete(rule, prefix)
        if (plan := st.session_state.get(f"{prefix}_plan")) is not None:
            show_plan(plan)


def confirm_delete(rule: TicketRule, prefix: str) -> None:
    st.warning(f"Delete rule {rule.name}? The tickets it made stay in Jira.")
    yes, no = st.columns(2)
    if yes.button("Delete for good", key=f"{prefix}_delete_yes", type="primary"):
        rules.delete(rule.id)
        st.session_state.pop(f"{prefix}_confirm", None)
        st.session_state["rules_flash"] = f"Deleted rule {rule.name}."
        st.rerun()
    if no.button("Keep it", key=f"{prefix}_delete_no"):
        st.session_state.pop(f"{prefix}_confirm", None)
        st.rerun()


def show_plan(plan: list[dict]) -> None:
    if not plan:
        st.info("Dry run: no anomaly present now would be handled by this rule.")
        return
    st.info(f"Dry run: {len(plan)} anomalies. Nothing was sent.")
    columns = ["anomaly_id", "action", "ticket", "comment", "what"]
    st.dataframe(pd.DataFrame(plan)[columns], hide_index=True)


def conditions_inputs() -> RuleConditions:
    st.markdown("**When** (empty: any)")
    datastores = dict(rules.datastores())
    picked = st.multiselect(
        "Datastores",
        list(datastores),
        key="rules_new_datastores",
        format_func=lambda i: f"{datastores[i]} ({i})",
    )
    c1, c2 = st.columns(2)
    tables = c1.text_input("Tables (comma-separated)", key="rules_new_tables")
    types = c2.multiselect("Anomaly types", ["shape", "record"], key="rules_new_types")
    weight_min = c1.number_input("Weight at least", min_value=0, value=None, key="rules_new_wmin")
    weight_max = c2.number_input("Weight at most", min_value=0, value=None, key="rules_new_wmax")
    tags = c1.text_input("Any of the tags", key="rules_new_tags")
    checks = c2.text_input("Failed check's rule type (any of)", key="rules_new_checks")
    return RuleConditions(
        tuple(picked),
        words(tables),
        tuple(types),
        weight_min,
        weight_max,
        words(tags),
        words(checks),
    )


def ticket_inputs() -> TicketTemplate:
    st.markdown("**Ticket** (empty: the connection's defaults)")
    t1, t2, t3 = st.columns(3)
    project = t1.text_input("Project", key="rules_new_project")
    issue_type = t2.text_input("Issue type", key="rules_new_issue_type")
    priority = t3.text_input("Priority", key="rules_new_priority")
    labels = t1.text_input("Labels (comma-separated)", key="rules_new_labels")
    components = t2.text_input("Components", key="rules_new_components")
    assignee = t3.text_input("Assignee (account id / user name)", key="rules_new_assignee")
    return TicketTemplate(project, issue_type, priority, words(labels), words(components), assignee)


def new_rule_form() -> None:
    st.subheader("New rule")
    with st.form("rules_new", border=True):
        name = st.text_input("Name", key="rules_new_name", max_chars=100)
        action = st.radio(
            "Then",
            ["ticket", "skip"],
            horizontal=True,
            key="rules_new_action",
            format_func=lambda a: "Make a ticket" if a == "ticket" else "Do not ticket",
        )
        conditions, ticket = conditions_inputs(), ticket_inputs()
        g1, g2, g3 = st.columns(3)
        group_by = g1.selectbox(
            "One ticket per", list(GROUPS), key="rules_new_group", format_func=GROUPS.get
        )
        window = g2.number_input("Within (minutes)", min_value=1, value=60, key="rules_new_window")
        reopen = g3.number_input(
            "Reopen if closed under (days)", min_value=0, value=7, key="rules_new_reopen"
        )
        submitted = st.form_submit_button("Save (paused)", key="rules_new_save")
    if submitted:
        save(RuleDraft(name, action, conditions, ticket, group_by, int(window), int(reopen)))


def save(draft: RuleDraft) -> None:
    try:
        made = rules.create(draft)
    except RuleRefused as exc:
        st.error(str(exc))
        for field, message in exc.field_errors.items():
            st.caption(f"{field}: {message}")
        return
    st.session_state["rules_flash"] = f"Saved {made.name}, paused: try its dry run, then Enable."
    st.rerun()


def recent_section() -> None:
    st.subheader("What rules did")
    done = rules.applications(100)
    if not done:
        st.caption("Nothing yet.")
        return
    table = pd.DataFrame(
        [
            {
                "anomaly": a.anomaly_id,
                "outcome": a.outcome,
                "ticket": a.ticket_key or "",
                "at": a.applied_at,
                "note": a.note or "",
            }
            for a in done
        ]
    )
    st.dataframe(table, hide_index=True)


if flash := st.session_state.pop("rules_flash", None):
    st.success(flash)
all_rules = rules.rules()
if not all_rules:
    st.info("No rules yet.")
for each in all_rules:
    rule_row(each)
if all_rules and st.button("Run rules now", key="rules_run"):
    report = rules.run()
    st.info(report.message)
new_rule_form()
recent_section()
