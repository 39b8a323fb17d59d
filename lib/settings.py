"""Settings, read once at the edge (app.py, a page, the CLI) and passed in.

Nothing under lib/ reads the environment itself: the edge hands ``os.environ``
(and Streamlit's secrets, when there are some) to ``load_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "anomaly_desk.duckdb"


@dataclass(frozen=True)
class Settings:
    db_path: Path
    public_url: str
    seed_demo: bool
    dashboard_url: str
    secret_key: str | None = None
    refresh_minutes: int = 15  # the worker re-reads linked tickets' status; 0 = never
    jira: tuple = ()  # secrets.toml's [jira] items (a tuple keeps Settings hashable)

    @property
    def key_path(self) -> Path:
        """The Fernet key file used when no key is configured (never in the database)."""
        return self.db_path.with_name(self.db_path.name + ".key")

    @property
    def sandbox_url(self) -> str:
        """The Jira sandbox mounted into this dashboard (demo mode)."""
        return f"{self.dashboard_url}/sandbox"

    @property
    def api_token_path(self) -> Path:
        """Where the dashboard keeps the token that command-line calls present."""
        return self.db_path.with_name(self.db_path.name + ".api_token")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _minutes(value: str | None) -> int:
    if value is None or not str(value).strip():
        return 15
    try:
        return max(0, int(str(value).strip()))
    except ValueError:
        raise ValueError(f"refresh minutes must be a whole number, got {value!r}") from None


def load_settings(environ: Mapping[str, str], secrets: Mapping | None = None) -> Settings:
    """Build settings from environment variables, then ``secrets.toml``'s [anomaly_desk]."""
    section = dict((secrets or {}).get("anomaly_desk", {}) or {})

    def pick(env_name: str, key: str) -> str | None:
        return environ.get(env_name) or (str(section[key]) if key in section else None)

    db = pick("ANOMALY_DESK_DB", "db_path")
    dashboard = pick("ANOMALY_DESK_DASHBOARD_URL", "dashboard_url") or "http://127.0.0.1:8501"
    return Settings(
        db_path=Path(db).expanduser().resolve() if db else DEFAULT_DB,
        public_url=(pick("ANOMALY_DESK_PUBLIC_URL", "public_url") or dashboard).rstrip("/"),
        seed_demo=_flag(pick("ANOMALY_DESK_DEMO_DATA", "demo_data"), True),
        dashboard_url=dashboard.rstrip("/"),
        secret_key=pick("ANOMALY_DESK_SECRET_KEY", "secret_key"),
        refresh_minutes=_minutes(pick("ANOMALY_DESK_REFRESH_MINUTES", "refresh_minutes")),
        jira=tuple(dict((secrets or {}).get("jira") or {}).items()),
    )
