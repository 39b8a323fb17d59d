"""Jira connections: the public names of ``lib.connections``, and the wording of failed checks.

The parts live in their own modules: ``models`` (records and errors),
``validation`` (input checks), ``checks`` (calls to Jira), ``connection_store``
(stored connections over ``lib.store.connections``) and ``service`` (what the
Connect page calls). The names below stay importable from here for callers
that predate the split. ``explain`` (error wording) lives in ``lib.jira.wording``.
"""

from __future__ import annotations

from lib.connections.checks import check, detect, detect_kind, make_client
from lib.connections.connection_store import ConnectionStore, test_connection
from lib.connections.models import (
    CHECK_TIMEOUT,
    DEMO_ID,
    KIND_LABELS,
    SECRETS_ID,
    CheckResult,
    Connection,
    ConnectionCheckFailed,
    ConnectionInput,
    ConnectionNotFound,
    InvalidConnectionInput,
    TicketDefaults,
)
from lib.connections.validation import (
    deployed_input_from_secrets,
    normalise_host,
    parse_credentials,
    sandbox_credentials,
    validate_input,
    validate_public_url,
)
from lib.jira.wording import explain

__all__ = [
    "CHECK_TIMEOUT",
    "CheckResult",
    "Connection",
    "ConnectionCheckFailed",
    "ConnectionInput",
    "ConnectionNotFound",
    "ConnectionStore",
    "DEMO_ID",
    "InvalidConnectionInput",
    "KIND_LABELS",
    "SECRETS_ID",
    "TicketDefaults",
    "check",
    "deployed_input_from_secrets",
    "detect",
    "detect_kind",
    "explain",
    "make_client",
    "normalise_host",
    "parse_credentials",
    "sandbox_credentials",
    "test_connection",
    "validate_input",
    "validate_public_url",
]
