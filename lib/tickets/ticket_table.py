"""The Tickets page's use cases: what its table sends, shown before it is sent.

Decisions, and why:

- The preview is built by the same code as the send (``prepare_create`` of
  the ticket or automation service, then ``create_body``), with the same
  submission (request id and description time), so the "JSON sent to Jira"
  is exactly the body that goes out: labels, the issue property and a
  generated description included.
- Update mode leaves out what Jira refuses on edit: ``project`` always (Jira
  answers 400 to it on PUT) and ``issuetype`` unless the user asked to change
  the type. The preview shows the body without them.
- JSON that does not parse is not "the previous table": the page refuses to
  send and shows the parse error (``FieldTableError``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.outbox.payload import create_body, render_fields
from lib.tickets.automation import AutomationResult, AutomationService
from lib.tickets.automation_command import AutomationRefused
from lib.tickets.description import as_doc
from lib.tickets.service import CreateResult, Submission, TicketRefused, TicketService

CREATE, UPDATE = "Create", "Update"
NOT_ON_EDIT = ("project",)  # Jira refuses these on PUT /issue/{key}


@dataclass(frozen=True)
class TableCreate:
    """What a Create did: linked to an anomaly (``linked``) or a plain ticket (``plain``)."""

    linked: CreateResult | None = None
    plain: AutomationResult | None = None


def anomaly_id_of(text: str) -> int | None:
    """The optional anomaly id typed on the page.

    Raises:
        TicketRefused: not a whole number.
    """
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise TicketRefused(f"Anomaly id '{text}' must be a whole number (or left empty).")
    return int(text)


def create_args(fields: dict) -> dict:
    """The table's fields as ``create_ticket`` arguments (it adds the anomaly's label and link)."""
    rest = dict(fields)

    def ref(name: str, *keys: str) -> str | None:
        value = rest.pop(name, None)
        if isinstance(value, dict):
            return next((str(value[k]) for k in keys if value.get(k)), None)
        return str(value) if value else None

    description = rest.pop("description", None)
    if description is not None and not isinstance(description, str):
        raise TicketRefused(
            "With an anomaly, the description must be plain text: the anomaly's "
            "details are rendered as rich text for you when it is left empty."
        )
    labels = rest.pop("labels", None) or []
    return {
        "summary": str(rest.pop("summary", "") or ""),
        "description": description or None,
        "priority": ref("priority", "name"),
        "issue_type": ref("issuetype", "id", "name"),
        "project": ref("project", "key", "id"),
        "labels": tuple(labels if isinstance(labels, list) else [labels]),
        "extra_fields": rest,
    }


def update_fields(fields: dict, *, change_type: bool = False) -> dict:
    """The fields an edit may send: no ``project``; ``issuetype`` only when asked for."""
    drop = NOT_ON_EDIT if change_type else (*NOT_ON_EDIT, "issuetype")
    return {k: v for k, v in fields.items() if k not in drop}


def _with_docs(fields: dict) -> dict:
    # A typed description is rich text for Jira: a doc, rendered per flavour.
    if isinstance(fields.get("description"), str) and fields["description"]:
        return {**fields, "description": as_doc(fields["description"])}
    return fields


class TicketTable:
    """Preview and send the table's fields (a create, linked or not, or an update)."""

    def __init__(self, tickets: TicketService, automation: AutomationService):
        self._tickets = tickets
        self._automation = automation

    def new_submission(self) -> Submission:
        return self._tickets.new_submission()

    def preview_create(self, fields: dict, anomaly_text: str, submission: Submission) -> dict:
        """The exact ``POST /issue`` body a Create would send now.

        Raises:
            TicketRefused, AnomalyNotFound, AutomationRefused: what the send would refuse.
        """
        client = self._client()
        anomaly_id = anomaly_id_of(anomaly_text)
        if anomaly_id is None:
            request = self._automation.prepare_create(_with_docs(fields), submission.key)
        else:
            request = self._tickets.prepare_create(
                anomaly_id, **create_args(fields), submission=submission
            )
        return create_body(client, request)

    def create(
        self, fields: dict, anomaly_text: str, submission: Submission, actor: str
    ) -> TableCreate:
        anomaly_id = anomaly_id_of(anomaly_text)
        if anomaly_id is None:
            result = self._automation.create_ticket(
                _with_docs(fields), actor, submission_key=submission.key
            )
            return TableCreate(plain=result)
        return TableCreate(
            linked=self._tickets.create_ticket(
                anomaly_id, **create_args(fields), actor=actor, submission=submission
            )
        )

    def preview_update(self, fields: dict, *, change_type: bool = False) -> dict:
        """The exact ``PUT /issue/{key}`` body an Update would send."""
        return {
            "fields": render_fields(
                self._client(), _with_docs(update_fields(fields, change_type=change_type))
            )
        }

    def update(self, key: str, fields: dict, actor: str, *, change_type: bool = False):
        return self._automation.update_ticket(
            key, _with_docs(update_fields(fields, change_type=change_type)), actor
        )

    def _client(self):
        active = self._tickets.active_jira()
        if active is None:
            raise AutomationRefused("No Jira connection is active: connect to Jira first.")
        return active.client
