"""JSON shapes of Jira resources, per API version (v3 Cloud, v2 Data Center).

``base`` is the sandbox's base URL *including any mount prefix* and ending in
``/`` (``app.sandbox_base_url``), so every ``self`` link works when the sandbox is
mounted inside the dashboard.
"""

from __future__ import annotations

from typing import Any

from .config import OTHER_DC_USERNAME, OTHER_USER, PRIMARY_USER, SandboxConfig
from .richtext import adf_to_wiki, wiki_to_adf
from .state import (
    CUSTOM_FIELDS,
    ISSUE_TYPES,
    PRIORITIES,
    TEXTAREA,
    TRANSITIONS,
    Comment,
    Component,
    Issue,
    IssueType,
    Project,
    Status,
    find_project,
    jira_time,
    status_by_id,
)
from .workflow import (
    DEFAULT_RESOLUTION_ID,
    find_resolution,
    has_screen,
    resolution,
    resolution_field,
)

ALL_FIELDS = (
    "summary",
    "description",
    "status",
    "priority",
    "labels",
    "issuetype",
    "project",
    "created",
    "updated",
    "comment",
    "reporter",
    "creator",
    "environment",
    "duedate",
    "components",
    "assignee",
    "resolution",
    *(f.id for f in CUSTOM_FIELDS),
)


OTHER_ACCOUNT_ID = "sandbox-account-2"


def api(base: str, version: str) -> str:
    return f"{base}rest/api/{version}/"


def avatar_urls(base: str, kind: str, ident: str) -> dict:
    url = f"{base}secure/{kind}avatar?avatarId={ident}"
    return {size: f"{url}&size={size}" for size in ("16x16", "24x24", "32x32", "48x48")}


def user(base: str, version: str, config: SandboxConfig, who: str = PRIMARY_USER) -> dict:
    """A sandbox user (the primary or the other one), shaped like the server flavour's users."""
    if who == OTHER_USER:
        return _other_user(base, version, config)
    if config.flavour == "dc":
        return {
            "self": f"{api(base, version)}user?username={config.dc_username}",
            "key": "JIRAUSER10000",
            "name": config.dc_username,
            "emailAddress": f"{config.dc_username}@anomaly-desk.example",
            "displayName": "Sandbox Admin",
            "active": True,
            "timeZone": "UTC",
            "locale": "en_GB",
            "avatarUrls": avatar_urls(base, "user", "10122"),
        }
    return {
        "self": f"{api(base, version)}user?accountId=sandbox-account-1",
        "accountId": "sandbox-account-1",
        "accountType": "atlassian",
        "emailAddress": config.cloud_email,
        "displayName": "Sandbox Demo User",
        "active": True,
        "timeZone": "UTC",
        "locale": "en_GB",
        "avatarUrls": avatar_urls(base, "user", "10122"),
    }


def _other_user(base: str, version: str, config: SandboxConfig) -> dict:
    if config.flavour == "dc":
        return {
            "self": f"{api(base, version)}user?username={OTHER_DC_USERNAME}",
            "key": "JIRAUSER10001",
            "name": OTHER_DC_USERNAME,
            "emailAddress": f"{OTHER_DC_USERNAME}@anomaly-desk.example",
            "displayName": "Other Sandbox User",
            "active": True,
            "timeZone": "UTC",
            "locale": "en_GB",
            "avatarUrls": avatar_urls(base, "user", "10123"),
        }
    return {
        "self": f"{api(base, version)}user?accountId={OTHER_ACCOUNT_ID}",
        "accountId": OTHER_ACCOUNT_ID,
        "accountType": "atlassian",
        "emailAddress": config.other_cloud_email,
        "displayName": "Other Sandbox User",
        "active": True,
        "timeZone": "UTC",
        "locale": "en_GB",
        "avatarUrls": avatar_urls(base, "user", "10123"),
    }


def who_is(stored_author: str | None) -> str:
    """A stored comment author or assignee as a sandbox user (older state files hold names)."""
    return OTHER_USER if stored_author == OTHER_USER else PRIMARY_USER


def project(base: str, version: str, item: Project) -> dict:
    return {
        "self": f"{api(base, version)}project/{item.id}",
        "id": item.id,
        "key": item.key,
        "name": item.name,
        "projectTypeKey": "software",
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "avatarUrls": avatar_urls(base, "project", "10400"),
    }


def issue_type(base: str, version: str, item: IssueType) -> dict:
    return {
        "self": f"{api(base, version)}issuetype/{item.id}",
        "id": item.id,
        "description": item.description,
        "name": item.name,
        "subtask": False,
        "iconUrl": f"{base}images/icons/issuetypes/{item.name.lower()}.svg",
        "hierarchyLevel": 0,
    }


def priority(base: str, version: str, name: str) -> dict:
    priority_id = PRIORITIES[name]
    return {
        "self": f"{api(base, version)}priority/{priority_id}",
        "id": priority_id,
        "name": name,
        "iconUrl": f"{base}images/icons/priorities/{name.lower()}.svg",
    }


def component(base: str, version: str, item: Component) -> dict:
    return {"self": f"{api(base, version)}component/{item.id}", "id": item.id, "name": item.name}


def status(base: str, version: str, item: Status) -> dict:
    return {
        "self": f"{api(base, version)}status/{item.id}",
        "id": item.id,
        "name": item.name,
        "description": "",
        "iconUrl": f"{base}images/icons/statuses/generic.png",
        "statusCategory": {
            "self": f"{api(base, version)}statuscategory/{item.category_id}",
            "id": item.category_id,
            "key": item.category_key,
            "colorName": item.color,
            "name": item.category_name,
        },
    }


def rich_text(body: Any, version: str) -> Any:
    """A stored body as this API version shows it: ADF on v3, wiki on v2."""
    if body is None:
        return None
    if version == "3":
        return wiki_to_adf(body) if isinstance(body, str) else body
    return adf_to_wiki(body) if isinstance(body, dict) else body


def user_details(base: str, version: str, config: SandboxConfig, who: str = PRIMARY_USER) -> dict:
    """The shorter user shape Jira embeds in comments (no locale)."""
    details = user(base, version, config, who)
    details.pop("locale", None)
    return details


def comment(base: str, version: str, config: SandboxConfig, issue: Issue, item: Comment) -> dict:
    author = user_details(base, version, config, who_is(item.author))
    return {
        "self": f"{api(base, version)}issue/{issue.id}/comment/{item.id}",
        "id": item.id,
        "author": author,
        "updateAuthor": author,
        "body": rich_text(item.body, version),
        "created": jira_time(item.created),
        "updated": jira_time(item.updated),
        "jsdPublic": True,
    }


def comment_page(base, version, config, issue, comments, start_at, max_results) -> dict:
    page = comments[start_at : start_at + max_results]
    return {
        "startAt": start_at,
        "maxResults": max_results,
        "total": len(comments),
        "comments": [comment(base, version, config, issue, c) for c in page],
    }


def requested_fields(
    raw: str | list | None, default: tuple[str, ...] = ALL_FIELDS
) -> tuple[str, ...]:
    """Field names from a ``fields`` parameter (``*all``, ``*navigable``, ``-x`` too)."""
    if raw is None or raw == "" or raw == []:
        return default
    names = raw.split(",") if isinstance(raw, str) else list(raw)
    wanted: list[str] = []
    for name in (n.strip() for n in names):
        if name in ("*all", "*navigable"):
            wanted.extend(ALL_FIELDS)
        elif name and not name.startswith("-"):
            wanted.append(name)
    excluded = {n.strip()[1:] for n in names if n.strip().startswith("-")}
    return tuple(dict.fromkeys(n for n in wanted if n not in excluded))


def issue(base: str, version: str, config: SandboxConfig, item: Issue, wanted=ALL_FIELDS) -> dict:
    """An IssueBean; unknown field names are left out, as Jira does."""
    author = user_details(base, version, config)
    every = {
        "summary": lambda: item.summary,
        "description": lambda: rich_text(item.description, version),
        "status": lambda: status(base, version, status_by_id(item.status_id)),
        "priority": lambda: priority(base, version, item.priority),
        "labels": lambda: list(item.labels),
        "issuetype": lambda: issue_type(base, version, _issue_type(item.issuetype_id)),
        "project": lambda: project(base, version, find_project(item.project_key)),
        "created": lambda: jira_time(item.created),
        "updated": lambda: jira_time(item.updated),
        "comment": lambda: comment_page(base, version, config, item, item.comments, 0, 5000),
        "reporter": lambda: author,
        "creator": lambda: author,
        "environment": lambda: rich_text(item.environment, version),
        "duedate": lambda: item.duedate,
        "components": lambda: _components(base, version, item),
        "assignee": lambda: (
            user_details(base, version, config, who_is(item.assignee)) if item.assignee else None
        ),
        "resolution": lambda: _resolution(base, version, item),
    }
    for custom in CUSTOM_FIELDS:
        value = item.custom.get(custom.id)
        every[custom.id] = (
            (lambda v=value: rich_text(v, version))
            if custom.custom == TEXTAREA
            else (lambda v=value: v)
        )
    fields = {name: every[name]() for name in wanted if name in every}
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": item.id,
        "self": f"{api(base, version)}issue/{item.id}",
        "key": item.key,
        "fields": fields,
    }


def _components(base: str, version: str, item: Issue) -> list[dict]:
    known = {c.id: c for c in find_project(item.project_key).components}
    return [component(base, version, known[i]) for i in item.components if i in known]


def _resolution(base: str, version: str, item: Issue) -> dict | None:
    """Set while the issue is in the Done category: the one a transition chose,
    else Jira's default "Done" (a colleague's move without a screen)."""
    if status_by_id(item.status_id).category_key != "done":
        return None
    found = find_resolution(item.resolution) or find_resolution(DEFAULT_RESOLUTION_ID)
    return resolution(found, api(base, version)) if found else None


def _issue_type(type_id: str) -> IssueType:
    return next(t for t in ISSUE_TYPES if t.id == type_id)


def transitions(
    base: str, version: str, item: Issue, offered: dict[str, str] | None = None, *, fields=False
) -> dict:
    """The transitions ``offered`` (id -> target status; default: all but the current
    status), with their screens' fields when ``fields`` (``expand=transitions.fields``)."""
    names = {"11": "To Do", "21": "In Progress", "31": "Done"}
    if offered is None:
        offered = {t: s for t, s in TRANSITIONS.items() if s != item.status_id}
    listed = []
    for transition_id, status_id in offered.items():
        entry = {
            "id": transition_id,
            "name": names[transition_id],
            "to": status(base, version, status_by_id(status_id)),
            "hasScreen": has_screen(status_id),
            "isGlobal": True,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        if fields:
            screen = {"resolution": resolution_field(version, api(base, version))}
            entry["fields"] = screen if has_screen(status_id) else {}
        listed.append(entry)
    return {"expand": "transitions", "transitions": listed}


def create_fields(base: str, version: str, item: Project, type_item: IssueType) -> list[dict]:
    """FieldCreateMetadata for one project and issue type."""

    def field(key, name, required, schema, operations, **extra):
        return {
            "required": required,
            "schema": schema,
            "name": name,
            "key": key,
            "fieldId": key,
            "hasDefaultValue": "defaultValue" in extra,
            "operations": operations,
            **extra,
        }

    set_only = ["set"]
    return [
        field(
            "project",
            "Project",
            True,
            {"type": "project", "system": "project"},
            set_only,
            allowedValues=[project(base, version, item)],
        ),
        field(
            "issuetype",
            "Issue Type",
            True,
            {"type": "issuetype", "system": "issuetype"},
            [],
            allowedValues=[issue_type(base, version, type_item)],
        ),
        field("summary", "Summary", True, {"type": "string", "system": "summary"}, set_only),
        field(
            "description",
            "Description",
            False,
            {"type": "string", "system": "description"},
            set_only,
        ),
        field(
            "priority",
            "Priority",
            False,
            {"type": "priority", "system": "priority"},
            set_only,
            allowedValues=[priority(base, version, name) for name in item.allowed_priorities],
            defaultValue=priority(base, version, "Medium"),
        ),
        field(
            "labels",
            "Labels",
            False,
            {"type": "array", "items": "string", "system": "labels"},
            ["add", "set", "remove"],
            autoCompleteUrl=f"{api(base, version)}label/suggest?query=",
        ),
        field("duedate", "Due date", False, {"type": "date", "system": "duedate"}, set_only),
        field(
            "components",
            "Components",
            False,
            {"type": "array", "items": "component", "system": "components"},
            ["add", "set", "remove"],
            allowedValues=[component(base, version, c) for c in item.components],
        ),
        field(
            "environment",
            "Environment",
            False,
            {"type": "string", "system": "environment"},
            set_only,
        ),
        *(
            field(
                custom.id,
                custom.name,
                False,
                {"type": custom.schema_type, "custom": custom.custom, "customId": custom.custom_id},
                set_only,
            )
            for custom in CUSTOM_FIELDS
        ),
    ]
