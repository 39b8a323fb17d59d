"""Settings, read once at each edge (app.py, a page run on its own, the CLI) and passed in.

One function, ``read_settings``, reads them the same way everywhere: environment
variables first, then ``[anomaly_desk]`` and ``[jira]`` in the project's
``.streamlit/secrets.toml``. The file is found beside this package, not in the
working directory (Streamlit's ``st.secrets`` looks in the working directory,
so a dashboard started from another folder used to read a different file than
the app did). ``ANOMALY_DESK_SECRETS_FILE`` points elsewhere (tests, deployments).

Nothing under lib/ reads the environment itself: the edge hands ``os.environ``
in. A running dashboard reads them once at start; its pages use what it read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "anomaly_desk.duckdb"
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"
SECRETS_FILE_ENV = "ANOMALY_DESK_SECRETS_FILE"
DEFAULT_DASHBOARD_URL = "http://127.0.0.1:8501"


class SettingsError(ValueError):
    """The configuration cannot be read (a malformed secrets.toml, a bad number)."""


@dataclass(frozen=True)
class Settings:
    db_path: Path
    public_url: str
    seed_demo: bool
    dashboard_url: str
    secret_key: str | None = None
    refresh_minutes: int = 15  # the worker re-reads linked tickets' status; 0 = never
    jira: tuple = ()  # secrets.toml's [jira] items (a tuple keeps Settings hashable)
    # False when dashboard_url is only the default (or the address the app is served
    # at): the command line then looks for the running dashboard's address file.
    dashboard_url_configured: bool = False

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

    @property
    def dashboard_file_path(self) -> Path:
        """Where a running dashboard writes its address (removed when it stops cleanly)."""
        return self.db_path.with_name(self.db_path.name + ".dashboard.json")


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
        raise SettingsError(f"refresh minutes must be a whole number, got {value!r}") from None


def secrets_path(environ: Mapping[str, str]) -> Path:
    """The secrets.toml the settings come from: the project's, whatever the working directory."""
    override = environ.get(SECRETS_FILE_ENV, "").strip()
    return Path(override).expanduser().resolve() if override else SECRETS_FILE


def read_secrets(path: Path) -> dict:
    """The file's tables; empty when there is no file.

    Raises:
        SettingsError: the file is not valid TOML (its contents are not repeated:
            it holds secrets).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None


def read_settings(
    environ: Mapping[str, str],
    secrets: Mapping | None = None,
    *,
    served_at: str | None = None,
) -> Settings:
    """The settings: environment first, then secrets.toml's [anomaly_desk] and [jira].

    ``secrets`` replaces the file only where a caller already holds its tables (a
    page run on its own under a test's ``st.secrets``). ``served_at`` is the
    address the dashboard itself answers at: the default for ``dashboard_url``
    (and so for demo mode's sandbox), unless one is configured.

    Raises:
        SettingsError: secrets.toml is malformed or a value cannot be read.
    """
    if secrets is None:
        secrets = read_secrets(secrets_path(environ))
    return load_settings(environ, secrets, served_at=served_at)


def load_settings(
    environ: Mapping[str, str], secrets: Mapping | None = None, *, served_at: str | None = None
) -> Settings:
    """Build settings from already-read sources (``read_settings`` reads them)."""
    section = dict((secrets or {}).get("anomaly_desk", {}) or {})

    def pick(env_name: str, key: str) -> str | None:
        return environ.get(env_name) or (str(section[key]) if key in section else None)

    db = pick("ANOMALY_DESK_DB", "db_path")
    configured = pick("ANOMALY_DESK_DASHBOARD_URL", "dashboard_url")
    dashboard = configured or served_at or DEFAULT_DASHBOARD_URL
    return Settings(
        db_path=_db_path(db),
        public_url=(pick("ANOMALY_DESK_PUBLIC_URL", "public_url") or dashboard).rstrip("/"),
        seed_demo=_flag(pick("ANOMALY_DESK_DEMO_DATA", "demo_data"), True),
        dashboard_url=dashboard.rstrip("/"),
        secret_key=pick("ANOMALY_DESK_SECRET_KEY", "secret_key"),
        refresh_minutes=_minutes(pick("ANOMALY_DESK_REFRESH_MINUTES", "refresh_minutes")),
        jira=tuple(dict((secrets or {}).get("jira") or {}).items()),
        dashboard_url_configured=bool(configured),
    )


def _db_path(value: str | None) -> Path:
    if not value:
        return DEFAULT_DB
    path = Path(value).expanduser()
    # A relative path in secrets.toml or the environment means the project's
    # folder, as the default does: the same file whatever the working directory.
    return (path if path.is_absolute() else ROOT / path).resolve()
