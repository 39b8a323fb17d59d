"""Settings of one sandbox run: flavour, credentials and the faults to inject."""

from __future__ import annotations

from dataclasses import dataclass, field

# Demo credentials: printed by the CLI and shown by the dashboard in demo mode.
# Defined outside the sandbox so product code can name them without importing it.
from lib.jira.demo_credentials import (  # noqa: F401 (re-exported for tests and benchmarks)
    DEMO_CLOUD_API_TOKEN,
    DEMO_CLOUD_EMAIL,
    DEMO_DC_PASSWORD,
    DEMO_DC_PAT,
    DEMO_DC_USERNAME,
)

FLAVOURS = ("cloud", "dc", "both")
# The second user, a colleague who works in Jira itself (comments, transitions,
# reassigns, deletes), so Jira's side of the sync can be played in tests.
OTHER_CLOUD_EMAIL = "other@anomaly-desk.example"
OTHER_CLOUD_API_TOKEN = "other-api-token"
OTHER_DC_PAT = "other-pat"
OTHER_DC_USERNAME = "other"
PRIMARY_USER, OTHER_USER = "primary", "other"


@dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox pretends to be and how badly it behaves.

    ``flavour`` decides which deployment the server claims to be:

    * ``"cloud"``: ``/rest/api/3`` is the main API, ``/rest/api/2`` answers too
      (wiki strings, as real Cloud v2 does) but ``/rest/api/{2,3}/search`` are
      410 Gone, as on Cloud since 2025. serverInfo says ``Cloud``.
    * ``"dc"``: only ``/rest/api/2`` exists (``/search`` with startAt/total);
      ``/rest/api/3`` answers 404, as on a real Data Center. serverInfo says
      ``Server``.
    * ``"both"``: v3 behaves like Cloud and v2 like Data Center (including a
      working ``/rest/api/2/search``), so one demo server serves either client.

    Rates are probabilities in [0, 1]; ``rate_limit`` 0 switches rate limiting
    off. ``faults`` are scripted faults (``faults.Fault``) active from the start.
    """

    flavour: str = "cloud"
    cloud_email: str = DEMO_CLOUD_EMAIL
    cloud_api_token: str = DEMO_CLOUD_API_TOKEN
    dc_pat: str = DEMO_DC_PAT
    dc_username: str = DEMO_DC_USERNAME
    dc_password: str = DEMO_DC_PASSWORD
    other_cloud_email: str = OTHER_CLOUD_EMAIL
    other_cloud_api_token: str = OTHER_CLOUD_API_TOKEN
    other_dc_pat: str = OTHER_DC_PAT
    latency_ms: int = 0
    rate_limit: int = 0
    rate_limit_seconds: float = 60.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    drop_rate: float = 0.0
    hang_seconds: float = 30.0
    captcha_after: int = 0
    state_file: str | None = None
    seed: int | None = 0
    control_api: bool = True
    faults: tuple = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, not {self.flavour!r}")
        for name in ("error_rate", "timeout_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        if self.rate_limit < 0 or self.rate_limit_seconds <= 0:
            raise ValueError("rate_limit must be >= 0 and rate_limit_seconds > 0")

    @property
    def serves_v3(self) -> bool:
        return self.flavour in ("cloud", "both")

    @property
    def serves_v2_offset_search(self) -> bool:
        """Whether ``/rest/api/2/search`` works (DC) or is gone (Cloud)."""
        return self.flavour in ("dc", "both")

    @property
    def deployment_type(self) -> str:
        return "Server" if self.flavour == "dc" else "Cloud"
