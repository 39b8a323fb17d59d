"""Regenerate data/demo_anomalies.json (deterministic: same seed, same file).

Run: .venv/bin/python data/make_demo.py. Times are written relative to a fixed
anchor; the demo loader shifts them so the newest anomaly is about an hour old.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

ANCHOR = datetime(2026, 1, 1, 12, 0, 0)
DATASTORES = {
    101: (
        "Orders Warehouse (Snowflake)",
        {
            "ORDERS": [
                "ORDER_ID",
                "CUSTOMER_ID",
                "ORDER_DATE",
                "TOTAL_AMOUNT",
                "CURRENCY",
                "STATUS",
            ],
            "CUSTOMERS": ["CUSTOMER_ID", "CUSTOMER_NAME", "EMAIL", "COUNTRY", "CREATED_AT"],
            "ORDER_LINES": ["ORDER_ID", "LINE_NO", "SKU", "QUANTITY", "UNIT_PRICE"],
        },
    ),
    102: (
        "Billing Postgres",
        {
            "invoices": [
                "invoice_id",
                "account_id",
                "issued_at",
                "due_at",
                "amount_cents",
                "tax_rate",
            ],
            "payments": ["payment_id", "invoice_id", "paid_at", "method", "amount_cents"],
            "accounts": ["account_id", "plan", "region", "mrr"],
        },
    ),
    103: (
        "Marketing Lake (S3)",
        {
            "campaigns/2025/clicks.parquet": ["click_id", "campaign_id", "ts", "country", "device"],
            "campaigns/2025/spend.csv": ["campaign_id", "day", "spend_usd", "channel"],
            "crm/leads.json": ["lead_id", "email", "score", "source"],
        },
    ),
    104: (
        "Inventory BigQuery",
        {
            "stock_levels": ["sku", "warehouse", "on_hand", "reserved", "snapshot_at"],
            "shipments": ["shipment_id", "sku", "shipped_at", "carrier", "weight_kg"],
        },
    ),
}
RECORD_CHECKS = [
    ("notNull", "{n} of {total} values in {f} are null"),
    ("matchesPattern", "{n} values in {f} do not match the pattern ^[A-Z]{{2}}-[0-9]{{6}}$"),
    ("between", "{n} values in {f} are outside the range 0 to 10000"),
    ("expectedValues", "{n} values in {f} are not among the expected values (USD, EUR, GBP)"),
    ("isUnique", "{n} duplicate values found in {f}"),
    (
        "entityResolution",
        "{n} values in {f} were resolved to {m} distinct entities using "
        "similarity matching. 1 of those entities is assigned more than one "
        "value of {g}",
    ),
    ("isReplicaOf", "{n} rows in {c} differ from the replica in the source system on {f}"),
    ("afterDateTime", "{n} values in {f} are dated in the future"),
    ("isCreditCard", "{n} values in {f} look like credit card numbers"),
]
SHAPE_CHECKS = [
    ("volumetric", "Row count of {c} dropped by {p}% compared to the 7-day average"),
    ("freshness", "{c} has not been updated for {h} hours (expected every 6 hours)"),
    ("schema", "Field {f} was expected in {c} but is missing"),
    ("distinctCount", "Distinct count of {f} changed by {p}% since the last profile"),
    ("sum", "Sum of {f} deviates {p}% from the predicted value"),
]
PEOPLE = ["ana.lima", "ben.okafor", "chloe.martin", "dev.patel", "erin.zhao"]
COMMENTS = [
    "Looks related to last night's ETL rerun.",
    "Upstream team confirmed a late file; watching the next load.",
    "Reproduced on a sample of 500 rows.",
    "Known issue with the vendor feed, see the data contract.",
    "Fixed the mapping; waiting for the next profile.",
]


def _check(rng: random.Random, kind: str, container: str, fields: list[str], all_fields: list[str]):
    rule, template = rng.choice(RECORD_CHECKS if kind == "record" else SHAPE_CHECKS)
    n = rng.randint(2, 5000)
    message = template.format(
        n=n,
        total=n * rng.randint(3, 40),
        f=fields[0],
        m=max(1, n - 1),
        g=rng.choice(all_fields),
        c=container,
        p=rng.randint(12, 85),
        h=rng.randint(7, 96),
    )
    return {"check_id": rng.randint(1000, 9999), "rule_type": rule, "message": message}


def _history(rng: random.Random, status: str, reason: str | None, detected: datetime):
    steps, when, prev = [], detected, ("Active", None)
    path = {
        "Active": [],
        "Acknowledged": [("Acknowledged", None)],
        "Archived": [("Acknowledged", None)] * rng.randint(0, 1) + [("Archived", reason)],
    }
    for to_status, to_reason in path[status]:
        when += timedelta(hours=rng.randint(1, 72))
        steps.append(
            {
                "changed_by": rng.choice(PEOPLE),
                "changed_at": when.isoformat() + "Z",
                "from": prev[0],
                "from_reason": prev[1],
                "to": to_status,
                "to_reason": to_reason,
            }
        )
        prev = (to_status, to_reason)
    return steps


def make(count: int = 240, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    statuses = ["Active"] * 5 + ["Acknowledged"] * 3 + ["Archived"] * 3
    reasons = ["Resolved", "Resolved", "Invalid", "Duplicate", "Discarded"]
    out = []
    for ident in range(1, count + 1):
        ds_id = rng.choice(list(DATASTORES))
        ds_name, tables = DATASTORES[ds_id]
        container = rng.choice(list(tables))
        all_fields = tables[container]
        kind = "record" if rng.random() < 0.65 else "shape"
        fields = rng.sample(all_fields, k=rng.randint(1, 2))
        # Every status and reason appears at least once, then at random.
        status = statuses[ident % len(statuses)]
        reason = reasons[ident % len(reasons)] if status == "Archived" else None
        detected = ANCHOR - timedelta(minutes=rng.randint(0, 59 * 24 * 60))
        checks = [
            _check(rng, kind, container, fields, all_fields) for _ in range(rng.randint(1, 3))
        ]
        comments = [
            {
                "author": rng.choice(PEOPLE),
                "text": rng.choice(COMMENTS),
                "created_at": (detected + timedelta(hours=rng.randint(1, 48))).isoformat() + "Z",
            }
            for _ in range(rng.choice([0, 0, 0, 1, 2]))
        ]
        out.append(
            {
                "id": ident,
                "datastore_id": ds_id,
                "datastore_name": ds_name,
                "container": container,
                "fields": fields,
                "type": kind,
                "status": status,
                "archive_reason": reason,
                "detected_at": detected.isoformat() + "Z",
                "failed_checks": checks,
                "description": f"{len(checks)} check(s) failed on {container} "
                f"({', '.join(fields)}) in {ds_name}.",
                "weight": rng.randint(1, 10),
                "tags": rng.sample(
                    ["finance", "pii", "sla", "customer", "ops", "marketing", "critical"],
                    k=rng.randint(0, 2),
                ),
                "comments": comments,
                "history": _history(rng, status, reason, detected),
            }
        )
    return out


if __name__ == "__main__":
    target = Path(__file__).with_name("demo_anomalies.json")
    target.write_text(
        json.dumps({"anchor": ANCHOR.isoformat() + "Z", "anomalies": make()}, indent=1)
    )
    print(f"wrote {target}")
