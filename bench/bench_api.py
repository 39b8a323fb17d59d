"""REST API benchmark: 100 ``POST .../anomalies/{id}/tickets`` over HTTP, Jira at 50 ms latency.

    .venv/bin/python bench/bench_api.py [--creates 100] [--latency-ms 50]

The API (FastAPI mounted at /api, as app.py mounts it) and a Cloud-flavoured
sandbox each run on a real port; the creates go one by one, each with its own
Idempotency-Key. Printed beside the baseline of one Jira round trip per
create (100 x 50 ms = 5 s) and the ratio; a create costs two round trips
(POST /issue, then GET for its status and URL), so about 2x is the floor.
Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from lib.connections.models import ConnectionInput, TicketDefaults  # noqa: E402
from lib.connections.validation import sandbox_credentials  # noqa: E402
from lib.http.routes import build_routes  # noqa: E402
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread  # noqa: E402
from lib.jira.sandbox.server import serve_in_thread  # noqa: E402
from lib.services import close_all, services_for, utc_now  # noqa: E402
from lib.settings import load_settings  # noqa: E402
from lib.store.models import Anomaly, FailedCheck  # noqa: E402

TOKEN = "bench-token"


def anomalies(count: int) -> list[Anomaly]:
    detected = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    return [
        Anomaly(
            i, 1, "Warehouse", f"TABLE_{i}", ("COL",), "record", "Active", None, detected,
            "bench", 1, (), (FailedCheck(i, "notNull", f"{i} values in COL are null"),),
        )
        for i in range(1, count + 1)
    ]  # fmt: skip


def run(creates: int, latency_ms: int) -> None:
    sandbox = start_sandbox_in_thread(SandboxConfig(flavour="cloud", latency_ms=latency_ms))
    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    settings = load_settings(
        {"ANOMALY_DESK_DB": str(tmp / "api.duckdb"), "ANOMALY_DESK_DEMO_DATA": "0"}
    )
    services = services_for(settings)
    services.anomalies.upsert_many(anomalies(creates), utc_now())
    connection, _ = services.connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    services.connections.save_defaults(
        connection.id, TicketDefaults(project_key="DQ", issue_type_name="Task")
    )
    base_url, stop = serve_in_thread(
        Starlette(routes=build_routes(lambda: services, lambda: TOKEN))
    )
    statuses: dict[int, int] = {}
    try:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            started = time.perf_counter()
            for i in range(1, creates + 1):
                answer = session.post(
                    f"{base_url}/api/integrations/ticketing/anomalies/{i}/tickets",
                    json={
                        "title": f"Bench ticket {i}",
                        "description": "bench",
                        "priority": "Medium",
                    },
                    headers={"Idempotency-Key": f"bench-{i}"},
                    timeout=30,
                )
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            elapsed = time.perf_counter() - started
    finally:
        stop()
        close_all()
        sandbox.stop()
    baseline = creates * latency_ms / 1000
    issues = len(sandbox.runtime.state.all_issues())
    received = sandbox.runtime.faults.stats_json()["received"]
    print(
        f"{creates} POST .../tickets over HTTP, Jira at {latency_ms} ms: {elapsed:.2f} s "
        f"({elapsed / creates * 1000:.0f} ms each); baseline {creates} round trips at "
        f"{latency_ms} ms = {baseline:.1f} s; ratio {elapsed / baseline:.2f}x; "
        f"answers {dict(sorted(statuses.items()))}; issues on Jira: {issues}"
    )
    calls = sum(n for call, n in received.items() if not call.endswith("/myself"))
    print(
        f"Jira calls per create: {calls / creates:.1f} (one POST /issue: key, id and link come from its answer)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    run(args.creates, args.latency_ms)


if __name__ == "__main__":
    main()
