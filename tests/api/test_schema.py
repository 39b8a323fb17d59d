"""The API against its own OpenAPI document (schemathesis): every operation, generated inputs.

Each operation gets generated requests (valid and invalid parameters, bodies
and headers) with the right token; every answer must be a documented status,
not a 5xx, and valid against the documented schema. The app is the FastAPI
app itself (in-process ASGI), on a temp database whose Jira is the sandbox
over real HTTP. max_examples keeps the whole run near 30 s.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from lib.http.api.app import build_api
from lib.services import Services, services_for, utc_now

from .conftest import AUTH, SCHEMA_RUN, TOKEN, connect, make_anomaly

EXAMPLES = 12
EXCLUDED = [
    schemathesis.checks.positive_data_acceptance,
    schemathesis.checks.negative_data_rejection,
]


class _Current:
    services: Services | None = None


CURRENT = _Current()
APP = build_api(lambda: CURRENT.services, lambda: TOKEN)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKED = {"operations": set(), "cases": 0}


@pytest.fixture
def schema_services(tmp_settings, jira_sandbox):
    jira_sandbox.runtime.reset()
    services = services_for(tmp_settings)
    services.anomalies.upsert_many([make_anomaly(i) for i in (1, 2, 3)], utc_now())
    connect(services, jira_sandbox, "cloud")
    CURRENT.services = services
    yield services
    CURRENT.services = None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_keeps_its_schema(case, schema_services):
    # Not positive_data_acceptance: a schema-valid request may still name a
    # project Jira lacks, a time zone that does not exist or a file that is
    # not one; those are 4xx by design (and the tests in this folder pin them).
    # Not negative_data_rejection: unknown query parameters are ignored, as
    # most APIs do, and the token is always sent here (auth has its own tests).
    case.call_and_validate(headers=AUTH, excluded_checks=EXCLUDED)
    CHECKED["operations"].add(f"{case.method} {case.path}")
    CHECKED["cases"] += 1


def documented() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in APP.openapi()["paths"].items()
        for method in item
    }


def test_the_schema_run_covered_every_operation():
    """Runs after the generated tests (same module, declared later): nothing was skipped.

    The checked set also holds undeclared methods (schemathesis probes them for 405)."""
    assert documented() <= CHECKED["operations"]
    assert CHECKED["cases"] >= 5 * len(documented())
    SCHEMA_RUN.update(operations=len(documented()), cases=CHECKED["cases"])
