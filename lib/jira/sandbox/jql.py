"""A small, honest JQL: what the sandbox understands it answers right, the rest is a 400.

Supported: ``project``, ``key``/``issuekey``/``id``, ``labels``, ``status``,
``priority``, ``issuetype`` with ``=`` or ``in (...)``; ``summary``,
``description``, ``comment``, ``text`` with ``~``; ``created``/``updated`` with
``>= > <= <`` against ``yyyy-mm-dd[ HH:MM]`` or a relative ``-5m``/``-2h``/
``-1d``/``-1w``; clauses joined by ``AND``; ``ORDER BY field [ASC|DESC], ...``.

Refused with Jira's 400 (never silently ignored): ``OR``, ``NOT``, brackets,
functions, ``!=``, ``IS EMPTY`` and every other field, as well as unknown
projects and issue keys (real Jira refuses those too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .richtext import adf_to_text
from .state import PRIORITIES, PROJECTS, STATUSES, Issue, find_issue_type, find_project, now_utc

PREFIX = "Error in the JQL Query: "


class JqlError(ValueError):
    """A query real Jira (or this honest subset of it) refuses with a 400."""


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    @property
    def bounded(self) -> bool:
        """Cloud's /search/jql refuses queries with no restriction at all."""
        return bool(self.clauses)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<punct>[(),])
      | (?P<word>[^\s"'(),=!~<>]+)
    )""",
    re.VERBOSE,
)
_EQUALITY_FIELDS = {
    "project",
    "key",
    "issuekey",
    "id",
    "labels",
    "status",
    "priority",
    "issuetype",
    "type",
}
_TEXT_FIELDS = {"summary", "description", "comment", "text"}
_DATE_FIELDS = {"created", "updated", "createddate", "updateddate"}
_ORDER_FIELDS = {"key", "issuekey", "id", "created", "updated", "summary", "status", "priority"}
_UNSUPPORTED_WORDS = {"or", "not", "is", "was", "changed", "empty", "null"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise JqlError(
                f"{PREFIX}The character '{text[pos].strip() or text[pos]}' at position {pos} is unexpected."
            )
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise JqlError(
                f"{PREFIX}Expecting more input at the end of the query. The query was: {self.text}"
            )
        self.pos += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() in words

    def parse(self) -> Query:
        clauses = []
        if self.peek() is not None and not self.is_word("order"):
            clauses.append(self.clause())
            while self.is_word("and"):
                self.take()
                clauses.append(self.clause())
        order = self.order_by() if self.is_word("order") else ()
        leftover = self.peek()
        if leftover is not None:
            self.refuse_word(leftover[1])
            raise JqlError(f"{PREFIX}Expecting either 'OR' or 'AND' but got '{leftover[1]}'.")
        return Query(tuple(clauses), order)

    def refuse_word(self, word: str) -> None:
        if word.lower() in _UNSUPPORTED_WORDS or word == "(":
            raise JqlError(
                f"{PREFIX}'{word}' is not supported by the Jira sandbox (only AND of simple clauses)."
            )

    def clause(self) -> Clause:
        kind, name = self.take()
        if kind != "word" and kind != "string":
            self.refuse_word(name)
            raise JqlError(f"{PREFIX}Expecting a field name but got '{name}'.")
        self.refuse_word(name)
        field = name.lower()
        kind, operator = self.take()
        if kind == "word" and operator.lower() in ("in", "is", "was", "not"):
            operator = operator.lower()
        elif kind != "op":
            raise JqlError(
                f"{PREFIX}Expecting operator but got '{operator}'. The query was: {self.text}"
            )
        _check_operator(field, operator)
        values = self.value_list() if operator == "in" else (self.value(),)
        return Clause(field, operator, values)

    def value(self) -> str:
        kind, value = self.take()
        if kind not in ("word", "string"):
            raise JqlError(f"{PREFIX}Expecting a value but got '{value}'.")
        after = self.peek()
        if kind == "word" and after == ("punct", "("):
            raise JqlError(
                f"{PREFIX}Functions such as '{value}()' are not supported by the Jira sandbox."
            )
        if kind == "word" and value.lower() in ("and", "order", "empty", "null"):
            raise JqlError(f"{PREFIX}Expecting a value but got '{value}'.")
        return value

    def value_list(self) -> tuple[str, ...]:
        if self.take() != ("punct", "("):
            raise JqlError(f"{PREFIX}Expecting '(' after 'in'.")
        values = [self.value()]
        while self.peek() == ("punct", ","):
            self.take()
            values.append(self.value())
        if self.take() != ("punct", ")"):
            raise JqlError(f"{PREFIX}Expecting ')' or ',' in the list of values.")
        return tuple(values)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        self.take()
        if not self.is_word("by"):
            raise JqlError(f"{PREFIX}Expecting 'by' after 'order'.")
        self.take()
        order = [self.sort_key()]
        while self.peek() == ("punct", ","):
            self.take()
            order.append(self.sort_key())
        return tuple(order)

    def sort_key(self) -> tuple[str, bool]:
        _, name = self.take()
        field = name.lower()
        if field not in _ORDER_FIELDS:
            raise JqlError(
                f"{PREFIX}Field '{name}' cannot be used in ORDER BY in the Jira sandbox."
            )
        descending = False
        if self.is_word("asc", "desc"):
            descending = self.take()[1].lower() == "desc"
        return field, descending


def _check_operator(field: str, operator: str) -> None:
    if field in _EQUALITY_FIELDS:
        allowed = ("=", "in")
    elif field in _TEXT_FIELDS:
        allowed = ("~",)
    elif field in _DATE_FIELDS:
        allowed = (">=", ">", "<=", "<")
    else:
        raise JqlError(
            f"{PREFIX}Field '{field}' does not exist or is not supported by the Jira sandbox."
        )
    if operator not in allowed:
        raise JqlError(
            f"{PREFIX}The operator '{operator}' is not supported by the '{field}' field."
        )


def parse_jql(text: str) -> Query:
    """Parse ``text`` into a Query. Raises: JqlError with Jira's 400 message."""
    return _Parser(text or "").parse()


def run_query(query: Query, issues: list[Issue], known_keys: set[str]) -> list[Issue]:
    """The issues matching ``query``, sorted. Raises: JqlError for unknown values."""
    predicates = [_predicate(clause, known_keys) for clause in query.clauses]
    matches = [issue for issue in issues if all(p(issue) for p in predicates)]
    # Jira's order is unspecified without ORDER BY; id order keeps pages stable.
    matches.sort(key=lambda issue: int(issue.id))
    for field, descending in reversed(query.order):
        matches.sort(key=_SORT_KEYS[field], reverse=descending)
    return matches


def _predicate(clause: Clause, known_keys: set[str]) -> Callable[[Issue], bool]:
    field, values = clause.field, clause.values
    if field == "project":
        projects = {_project_key(value) for value in values}
        return lambda issue: issue.project_key in projects
    if field in ("key", "issuekey", "id"):
        wanted = {_issue_ref(value, known_keys) for value in values}
        # A key the issue had before a move still finds it, as in Jira.
        return lambda issue: (
            issue.key in wanted or issue.id in wanted or bool(wanted.intersection(issue.moved_from))
        )
    if field == "labels":
        labels = {value.lower() for value in values}
        return lambda issue: any(label.lower() in labels for label in issue.labels)
    if field == "status":
        status_ids = {_status_id(value) for value in values}
        return lambda issue: issue.status_id in status_ids
    if field == "priority":
        priorities = {_priority_name(value) for value in values}
        return lambda issue: issue.priority in priorities
    if field in ("issuetype", "type"):
        type_ids = {_issue_type_id(value) for value in values}
        return lambda issue: issue.issuetype_id in type_ids
    if field in _TEXT_FIELDS:
        return _text_predicate(field, values[0])
    return _date_predicate(field, clause.operator, values[0])


def _project_key(value: str) -> str:
    project = find_project(value) or next(
        (p for p in PROJECTS if p.name.lower() == value.lower()), None
    )
    if project is None:
        raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
    return project.key


def _issue_ref(value: str, known_keys: set[str]) -> str:
    ref = value.upper()
    if ref.isdigit():
        return ref
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*-\d+", ref):
        raise JqlError(f"The issue key '{value}' for field 'key' is invalid.")
    if ref not in known_keys:
        # Real Jira refuses a key that does not exist instead of matching nothing.
        raise JqlError(f"An issue with key '{value}' does not exist for field 'key'.")
    return ref


def _status_id(value: str) -> str:
    for status in STATUSES:
        if value.lower() == status.name.lower() or value == status.id:
            return status.id
    raise JqlError(f"The value '{value}' does not exist for the field 'status'.")


def _priority_name(value: str) -> str:
    for name, priority_id in PRIORITIES.items():
        if value.lower() == name.lower() or value == priority_id:
            return name
    raise JqlError(f"The value '{value}' does not exist for the field 'priority'.")


def _issue_type_id(value: str) -> str:
    issue_type = find_issue_type(name=value) or find_issue_type(id_=value)
    if issue_type is None:
        raise JqlError(f"The value '{value}' does not exist for the field 'issuetype'.")
    return issue_type.id


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+\*?", text.lower())


def _term_matches(term: str, tokens: set[str]) -> bool:
    if term.endswith("*"):
        return any(token.startswith(term[:-1]) for token in tokens)
    # A crude stand-in for Jira's English stemming: plurals match singulars.
    stem = term.rstrip("s")
    return any(token == term or token.rstrip("s") == stem for token in tokens)


def _text_predicate(field: str, query_text: str) -> Callable[[Issue], bool]:
    terms = _words(query_text)
    if not terms:
        raise JqlError(
            f"{PREFIX}The text query '{query_text}' for field '{field}' has no words to search for."
        )

    def issue_text(issue: Issue) -> str:
        parts = []
        if field in ("summary", "text"):
            parts.append(issue.summary)
        if field in ("description", "text"):
            parts.append(adf_to_text(issue.description))
        if field in ("comment", "text"):
            parts.extend(adf_to_text(comment.body) for comment in issue.comments)
        return " ".join(parts)

    def matches(issue: Issue) -> bool:
        tokens = set(re.findall(r"[a-z0-9]+", issue_text(issue).lower()))
        return all(_term_matches(term, tokens) for term in terms)

    return matches


_RELATIVE = re.compile(r"^([-+]?)(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_jql_date(value: str, field: str) -> datetime:
    """An absolute or relative JQL date as UTC (the sandbox user's time zone)."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        sign, amount, unit = relative.groups()
        delta = timedelta(**{_UNITS[unit]: int(amount)})
        return now_utc() - delta if sign == "-" else now_utc() + delta
    for pattern in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
        "or a period format e.g. '-5d', '4w 2d'."
    )


def _date_predicate(field: str, operator: str, value: str) -> Callable[[Issue], bool]:
    bound = parse_jql_date(value, field)
    attribute = "created" if field.startswith("created") else "updated"
    compare = {
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
    }[operator]
    return lambda issue: compare(getattr(issue, attribute), bound)


_PRIORITY_RANK = {name: len(PRIORITIES) - index for index, name in enumerate(PRIORITIES)}
_SORT_KEYS: dict[str, Callable[[Issue], object]] = {
    "key": lambda issue: (issue.project_key, issue.number),
    "issuekey": lambda issue: (issue.project_key, issue.number),
    "id": lambda issue: int(issue.id),
    "created": lambda issue: issue.created,
    "updated": lambda issue: issue.updated,
    "summary": lambda issue: issue.summary.lower(),
    "status": lambda issue: issue.status_id,
    "priority": lambda issue: _PRIORITY_RANK.get(issue.priority, 0),
}
