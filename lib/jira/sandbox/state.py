"""The sandbox's Jira: projects, issue types, workflow and issues, behind one lock.

Everything a handler changes goes through ``SandboxState`` methods that take
the lock, so concurrent requests (the sync engine's worker plus a page) see
consistent keys and counters. With a ``state_file`` every change is written
atomically (temp file + rename) so a demo survives a restart.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Component:
    id: str
    name: str


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str
    allowed_priorities: tuple[str, ...]
    components: tuple[Component, ...] = ()


@dataclass(frozen=True)
class CustomField:
    """A custom field on every create screen, as createmeta describes it."""

    id: str  # customfield_NNNNN
    name: str
    schema_type: str
    custom: str  # the field type's URI (schema.custom)

    @property
    def custom_id(self) -> int:
        return int(self.id.removeprefix("customfield_"))


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category_id: int
    category_key: str
    category_name: str
    color: str


PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
DEFAULT_PRIORITY = "Medium"
# OPS uses a narrower priority scheme so "priority not allowed in this
# project" can be exercised, as it happens on real sites with schemes.
PROJECTS = (
    Project(
        "10000",
        "DQ",
        "Data Quality",
        tuple(PRIORITIES),
        (Component("10100", "Pipelines"), Component("10101", "Warehouse")),
    ),
    Project(
        "10001", "OPS", "Operations", ("High", "Medium", "Low"), (Component("10102", "Infra"),)
    ),
)
TEXTAREA = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
# A textarea custom field (rich text, like the description) and a number one.
CUSTOM_FIELDS = (
    CustomField("customfield_10050", "Root cause", "string", TEXTAREA),
    CustomField(
        "customfield_10051",
        "Rows affected",
        "number",
        "com.atlassian.jira.plugin.system.customfieldtypes:float",
    ),
)
ISSUE_TYPES = (
    IssueType("10001", "Task", "A small, distinct piece of work."),
    IssueType("10002", "Bug", "A problem or error."),
)
STATUSES = (
    Status("10000", "To Do", 2, "new", "To Do", "blue-gray"),
    Status("3", "In Progress", 4, "indeterminate", "In Progress", "yellow"),
    Status("10001", "Done", 3, "done", "Done", "green"),
)
# Simplified workflow: a global transition into every status, like a
# team-managed Jira project. Transition ids are those Jira's defaults use.
TRANSITIONS = {"11": "10000", "21": "3", "31": "10001"}


@dataclass(frozen=True)
class Resolution:
    id: str
    name: str


# Jira's default resolutions: a Cloud site has no "Fixed" (Resolved maps to Done
# there), a Data Center one has the older list. Offered on the screen of every
# transition into the Done category, by API version.
RESOLUTIONS = {
    "3": (
        Resolution("10000", "Done"),
        Resolution("10001", "Won't Do"),
        Resolution("10002", "Duplicate"),
        Resolution("10003", "Cannot Reproduce"),
    ),
    "2": (
        Resolution("1", "Fixed"),
        Resolution("2", "Won't Fix"),
        Resolution("3", "Duplicate"),
        Resolution("4", "Incomplete"),
        Resolution("5", "Cannot Reproduce"),
        Resolution("10000", "Done"),
        Resolution("10001", "Won't Do"),
    ),
}


@dataclass
class WorkflowRules:
    """How the workflow answers transitions now (``POST /_sandbox/workflow``).

    ``refuse``: POST .../transitions answers ``refuse_status`` with ``message``
    (a validator or condition saying no), for ``keys`` or every issue when empty.
    ``hidden_categories``: transitions into these status categories are not
    offered at all (a condition hides them, or the account lacks the permission).
    """

    refuse: bool = False
    refuse_status: int = 400
    message: str = "The workflow of this project does not allow this transition now."
    keys: tuple[str, ...] = ()
    hidden_categories: tuple[str, ...] = ()


def now_utc() -> datetime:
    return datetime.now(UTC)


def jira_time(moment: datetime) -> str:
    """Jira's timestamp format: ``2021-01-17T12:34:00.000+0000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Comment:
    id: str
    body: Any
    author: str
    created: datetime
    updated: datetime


@dataclass
class Issue:
    id: str
    key: str
    project_key: str
    issuetype_id: str
    summary: str
    description: Any = None
    priority: str = DEFAULT_PRIORITY
    labels: list[str] = field(default_factory=list)
    status_id: str = STATUSES[0].id
    created: datetime = field(default_factory=now_utc)
    updated: datetime = field(default_factory=now_utc)
    comments: list[Comment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    environment: Any = None  # rich text, stored as sent (ADF or wiki)
    duedate: str | None = None  # YYYY-MM-DD
    components: list[str] = field(default_factory=list)  # component ids
    assignee: str | None = None  # the one user: its accountId (Cloud) or name (Data Center)
    custom: dict[str, Any] = field(default_factory=dict)  # customfield_NNNNN -> value
    assignee: str | None = None  # a sandbox user (config.PRIMARY_USER / OTHER_USER)
    resolution: str | None = None  # a Resolution id, set by a transition into Done
    moved_from: list[str] = field(default_factory=list)  # earlier keys (moved to another project)

    @property
    def number(self) -> int:
        return int(self.key.split("-")[1])


def find_project(ref: str) -> Project | None:
    """A project by key (any case) or id."""
    for project in PROJECTS:
        if ref.upper() == project.key or ref == project.id:
            return project
    return None


def find_custom_field(field_id: str) -> CustomField | None:
    return next((f for f in CUSTOM_FIELDS if f.id == field_id), None)


def find_issue_type(name: str | None = None, id_: str | None = None) -> IssueType | None:
    for issue_type in ISSUE_TYPES:
        if (id_ is not None and id_ == issue_type.id) or (
            name is not None and name.lower() == issue_type.name.lower()
        ):
            return issue_type
    return None


def status_by_id(status_id: str) -> Status:
    return next(status for status in STATUSES if status.id == status_id)


class SandboxState:
    """All issues, with per-project key counters; thread-safe."""

    def __init__(self, state_file: str | None = None) -> None:
        self.lock = threading.RLock()
        self._state_file = state_file
        self.issues: dict[str, Issue] = {}
        self.next_number = {project.key: 1 for project in PROJECTS}
        self.next_issue_id = 10000
        self.next_comment_id = 10000
        self.workflow = WorkflowRules()
        if state_file and os.path.exists(state_file):
            self._load(state_file)

    def reset(self) -> None:
        with self.lock:
            self.issues.clear()
            self.next_number = {project.key: 1 for project in PROJECTS}
            self.next_issue_id = 10000
            self.next_comment_id = 10000
            self.workflow = WorkflowRules()
            self.save()

    def create_issue(self, project_key: str, **values: Any) -> Issue:
        with self.lock:
            number = self.next_number[project_key]
            self.next_number[project_key] = number + 1
            issue = Issue(
                id=str(self.next_issue_id),
                key=f"{project_key}-{number}",
                project_key=project_key,
                **values,
            )
            self.next_issue_id += 1
            self.issues[issue.key] = issue
            self.save()
            return issue

    def get(self, key_or_id: str) -> Issue | None:
        """By key, id, or a key it had before a move (Jira answers with the new key)."""
        with self.lock:
            ref = key_or_id.upper()
            issue = self.issues.get(ref)
            if issue is None and key_or_id.isdigit():
                issue = next((i for i in self.issues.values() if i.id == key_or_id), None)
            if issue is None:
                issue = next((i for i in self.issues.values() if ref in i.moved_from), None)
            return issue

    def delete_issue(self, issue: Issue) -> None:
        with self.lock:
            self.issues.pop(issue.key, None)
            self.save()

    def move_issue(self, issue: Issue, project_key: str) -> Issue:
        """Move to another project: a new key there, the same id, the old key remembered."""
        with self.lock:
            number = self.next_number[project_key]
            self.next_number[project_key] = number + 1
            self.issues.pop(issue.key, None)
            issue.moved_from.append(issue.key)
            issue.key, issue.project_key = f"{project_key}-{number}", project_key
            self.issues[issue.key] = issue
            self.touch(issue)
            return issue

    def all_issues(self) -> list[Issue]:
        with self.lock:
            return list(self.issues.values())

    def add_comment(self, issue: Issue, body: Any, author: str) -> Comment:
        with self.lock:
            moment = now_utc()
            comment = Comment(str(self.next_comment_id), body, author, moment, moment)
            self.next_comment_id += 1
            issue.comments.append(comment)
            issue.updated = moment
            self.save()
            return comment

    def touch(self, issue: Issue) -> None:
        """Mark ``issue`` changed now and persist (call with the lock held)."""
        issue.updated = now_utc()
        self.save()

    def save(self) -> None:
        if not self._state_file:
            return
        with self.lock:
            payload = json.dumps(self._to_json(), indent=1, default=_encode)
        directory = os.path.dirname(os.path.abspath(self._state_file))
        fd, tmp = tempfile.mkstemp(prefix=".sandbox-state-", dir=directory)
        with os.fdopen(fd, "w") as handle:
            handle.write(payload)
        os.replace(tmp, self._state_file)

    def _to_json(self) -> dict:
        return {
            "version": 1,
            "next_number": self.next_number,
            "next_issue_id": self.next_issue_id,
            "next_comment_id": self.next_comment_id,
            "issues": [asdict(issue) for issue in self.issues.values()],
        }

    def _load(self, path: str) -> None:
        with open(path) as handle:
            data = json.load(handle)
        self.next_number.update(data["next_number"])
        self.next_issue_id = data["next_issue_id"]
        self.next_comment_id = data["next_comment_id"]
        for raw in data["issues"]:
            raw["created"] = _decode(raw["created"])
            raw["updated"] = _decode(raw["updated"])
            raw["comments"] = [
                Comment(**{**c, "created": _decode(c["created"]), "updated": _decode(c["updated"])})
                for c in raw["comments"]
            ]
            issue = Issue(**raw)
            self.issues[issue.key] = issue


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(text: str) -> datetime:
    return datetime.fromisoformat(text)
