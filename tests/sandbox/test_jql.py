"""The sandbox's JQL subset: right answers for what it supports, Jira's 400 for the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.jira.sandbox.jql import JqlError, parse_jql, run_query
from lib.jira.sandbox.state import Issue, now_utc


def _issue(number: int, project: str = "DQ", **values) -> Issue:
    return Issue(
        id=str(10000 + number),
        key=f"{project}-{number}",
        project_key=project,
        issuetype_id="10001",
        **values,
    )


ISSUES = [
    _issue(1, summary="Null rate spike in orders", labels=["anomaly-desk-1"], priority="High"),
    _issue(
        2,
        summary="Row counts dropped",
        labels=["anomaly-desk-2"],
        status_id="10001",
        updated=now_utc() - timedelta(days=3),
    ),
    _issue(
        3,
        project="OPS",
        summary="Nulls in customers",
        description={
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "schema drift suspected"}],
                }
            ],
        },
    ),
]
KEYS = {issue.key for issue in ISSUES}


def keys(jql: str) -> list[str]:
    return [issue.key for issue in run_query(parse_jql(jql), ISSUES, KEYS)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = DQ", ["DQ-1", "DQ-2"]),
        ('project in (DQ, "OPS") ORDER BY key DESC', ["OPS-3", "DQ-2", "DQ-1"]),
        ("key = dq-2", ["DQ-2"]),
        ("issuekey in (DQ-1, OPS-3)", ["DQ-1", "OPS-3"]),
        ('labels = "anomaly-desk-2"', ["DQ-2"]),
        ('summary ~ "spike orders"', ["DQ-1"]),
        ('summary ~ "null"', ["DQ-1", "OPS-3"]),  # crude stemming: "Nulls" matches
        ('summary ~ "cust*"', ["OPS-3"]),
        ('text ~ "drift"', ["OPS-3"]),
        ('status = "Done"', ["DQ-2"]),
        ("priority = High AND project = DQ", ["DQ-1"]),
        ("updated >= -1d ORDER BY updated ASC", ["DQ-1", "OPS-3"]),
        ('updated < "2000-01-01 00:00"', []),
        ('summary ~ "say \\"hi\\""', []),
    ],
)
def test_supported_queries_answer_right(jql, expected):
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "fragment"),
    [
        ("project = DQ OR project = OPS", "'OR' is not supported"),
        ("NOT project = DQ", "'NOT' is not supported"),
        ("(project = DQ)", "not supported"),
        ("assignee = currentUser()", "does not exist or is not supported"),
        ("project = DQ AND updated >= startOfDay()", "Functions"),
        ('summary = "x"', "The operator '=' is not supported by the 'summary' field."),
        ("project != DQ", "The operator '!=' is not supported"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("key = DQ-99", "An issue with key 'DQ-99' does not exist for field 'key'."),
        ('updated >= "yesterday"', "Date value 'yesterday' for field 'updated' is invalid."),
        ("project = ", "Expecting more input"),
        ("project = DQ ORDER BY assignee", "cannot be used in ORDER BY"),
        ('project = "DQ', "unexpected"),
        ("project = DQ labels = x", "Expecting either 'OR' or 'AND'"),
    ],
)
def test_everything_else_is_refused_not_guessed(jql, fragment):
    with pytest.raises(JqlError) as refused:
        keys(jql)
    assert fragment in str(refused.value)


def test_unbounded_queries_are_recognised():
    assert not parse_jql("ORDER BY created DESC").bounded
    assert parse_jql("labels = x").bounded
