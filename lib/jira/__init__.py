"""Jira client for Anomaly Desk: the one place that talks to Jira (Cloud and Data Center).

Build one per connection and share it (it holds a pooled ``requests.Session``)::

    from lib.jira import JiraClient, Flavour, BasicAuth, BearerAuth, detect_flavour
    client = JiraClient("https://acme.atlassian.net", BasicAuth(email, api_token),
                        flavour=Flavour.CLOUD)

Constructor: ``JiraClient(base_url, auth, *, flavour, session=None, timeout=30.0,
api_prefix=None, verify=True, trust_env=True, retry_policy=RetryPolicy(),
sleep=time.sleep)``. ``base_url`` may carry a context path
(``http://host/sandbox``); URLs are ``base_url/api_prefix/path`` with
``api_prefix`` defaulting to ``rest/api/3`` (Cloud) or ``rest/api/2`` (DC).
``verify`` is True or a CA bundle path (never False); ``trust_env=False``
ignores system proxies. ``client.near_limit`` is True after a response carrying
``X-RateLimit-NearLimit: true`` (slow down; send creates before updates).

Methods (all raise a ``JiraError`` subclass on failure):
- ``myself() -> Myself`` (credentials probe), ``server_info() -> ServerInfo``
- ``projects() -> Iterator[Project]``
- ``issue_types(project_key) -> list[IssueType]``
- ``fields_for_issue_type(project_key, issue_type_id) -> list[FieldMeta]``
- ``priorities(project_key, issue_type_id) -> list[str]`` ([] = priority not settable)
- ``create_issue(fields, properties=None) -> CreatedIssue`` (POST: never retried after a lost answer)
- ``create_issues_bulk([(fields, properties), ...]) -> list[CreatedIssue | JiraError]``
  (one call of at most 50; a refused element is its own error, worded as a single create's)
- ``get_issue(key) -> Issue``; ``edit_issue(key, fields) -> None``
- ``add_comment(key, body: Doc | str) -> Comment``; ``comments(key) -> Iterator[Comment]``
- ``issue_picker(query, current_jql=None) -> list[PickerIssue]``
- ``search(jql, fields=ISSUE_FIELDS) -> Iterator[Issue]``;
  ``find_issues_by_label(label, project=None) -> list[Issue]``
- ``transitions(key) -> list[Transition]``; ``get_transitions(key) -> list[Transition]``
  (with screen fields); ``do_transition(key, transition_id, fields=None) -> None``
- ``set_property(key, prop, value) -> None``; ``get_property(key, prop) -> Any``
- ``browse_url(key) -> str``; ``render(doc_or_str)`` (ADF or wiki for the flavour)

In ``fields`` dicts, ``description`` and ``environment`` (str or ``Doc``) and any
``Doc`` value (a textarea custom field) are rendered for the flavour (ADF on
Cloud, wiki markup on Data Center) and cut to 32,767 characters; ``summary`` is
cut to 255.

Failures: ``lib.jira.retry.classify`` is the one rule for retrying (the
client's and the outbox's); ``lib.jira.wording`` words errors for people.
"""

from lib.jira.auth import BasicAuth, BearerAuth
from lib.jira.client import BULK_CHUNK, ISSUE_FIELDS, MAX_PAGES, Flavour, JiraClient, detect_flavour
from lib.jira.errors import (
    BadCredentials,
    BadRequest,
    CaptchaRequired,
    Conflict,
    ErrorKind,
    Forbidden,
    Gone,
    JiraConnectionError,
    JiraDnsError,
    JiraError,
    JiraTimeout,
    JiraTLSError,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
    UnexpectedAnswer,
    error_from_response,
    error_kind,
)
from lib.jira.jql import jql_quote, looks_like_issue_key
from lib.jira.records import (
    BulkItem,
    BulkItemError,
    Comment,
    CreatedIssue,
    FieldMeta,
    Issue,
    IssueType,
    Myself,
    PickerIssue,
    Project,
    ServerInfo,
    Transition,
)
from lib.jira.retry import RetryPolicy
from lib.jira.richtext import (
    BulletList,
    CodeBlock,
    Doc,
    HardBreak,
    Heading,
    Link,
    Paragraph,
    Rule,
    Text,
    adf_to_text,
    doc_from_text,
    to_adf,
    to_wiki,
)

__all__ = [name for name in dir() if not name.startswith("_")]
