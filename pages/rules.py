"""Rules: auto-ticket rules in order (first match wins), each with a dry run, edit, pause, delete.

Thin: it reads the form (components/rule_form.py, one form for New rule and
Edit), calls the rules service and shows what it answers. A new rule is
saved paused; its dry run shows what it would do to the anomalies present
now, then Enable lets it run. Edit saves through the same update the API's
PUT uses, with the same checks; a refused edit saves nothing.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.common import services
from components.rule_form import rule_form, show_refusal
from lib.store.rules import TicketRule
from lib.tickets.rules import RuleRefused, step_rows

rules = services().rules

st.title("Rules")
st.caption(
    "Rules make tickets for anomalies as they arrive (import, API) and every few minutes. "
    "The first rule that matches an anomaly decides; paused rules are passed over. "
    "Everything they send is logged as Automatic, under the update limit."
)
if rules.paused() is not None:  # the every-page banner above says why, with Resume
    st.caption("Rules wait while automation is paused; Resume on the banner lets them run.")


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
        c1, c2, c3, c4, c5 = st.columns(5)
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
        if c4.button("Edit", key=f"{prefix}_edit"):
            st.session_state[f"{prefix}_editing"] = True
        if c5.button("Delete", key=f"{prefix}_delete"):
            st.session_state[f"{prefix}_confirm"] = True
        if st.session_state.get(f"{prefix}_editing"):
            edit_form(rule, prefix)
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


def edit_form(rule: TicketRule, prefix: str) -> None:
    """The New rule form pre-filled with this rule; saved through the service's update."""
    form = f"{prefix}_form"
    draft = rule_form(form, dict(rules.datastores()), rule)
    if st.session_state.pop(f"{form}_cancelled", False):
        st.session_state.pop(f"{prefix}_editing", None)
        st.rerun()
    if draft is None:
        return
    try:
        saved = rules.update(rule.id, draft)
    except RuleRefused as exc:
        show_refusal(str(exc), exc.field_errors)  # nothing saved; the form keeps its input
        return
    st.session_state.pop(f"{prefix}_editing", None)
    st.session_state.pop(f"{prefix}_plan", None)  # a dry run of the old settings misleads
    st.session_state["rules_flash"] = f"Saved changes to {saved.name}."
    st.rerun()


def new_rule_form() -> None:
    st.subheader("New rule")
    draft = rule_form("rules_new", dict(rules.datastores()))
    if draft is None:
        return
    try:
        made = rules.create(draft)
    except RuleRefused as exc:
        show_refusal(str(exc), exc.field_errors)
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
