"""Connections: input checks (tables), the repository, and /myself against the sandbox over HTTP."""

import socket
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.routing import Mount

from lib.connections import checks, models
from lib.connections.checks import check, detect_kind, make_client
from lib.connections.connection_store import ConnectionStore, test_connection
from lib.connections.models import (
    DEMO_ID,
    SECRETS_ID,
    ConnectionCheckFailed,
    ConnectionInput,
    ConnectionNotFound,
    InvalidConnectionInput,
    TicketDefaults,
)
from lib.connections.secret_box import SecretBox
from lib.connections.validation import (
    deployed_input_from_secrets,
    normalise_host,
    parse_credentials,
    validate_input,
    validate_public_url,
)
from lib.jira import (
    BadCredentials,
    CaptchaRequired,
    Forbidden,
    JiraConnectionError,
    JiraDnsError,
    JiraTimeout,
    JiraTLSError,
    NotFound,
    RateLimited,
    ServerError,
)
from lib.jira.sandbox import SandboxConfig, create_sandbox_app, start_sandbox_in_thread
from lib.jira.sandbox.config import DEMO_CLOUD_API_TOKEN, DEMO_CLOUD_EMAIL, DEMO_DC_PAT
from lib.jira.sandbox.faults import Fault
from lib.jira.sandbox.server import serve_in_thread
from lib.jira.wording import explain
from lib.settings import load_settings
from lib.store.db import Database
from tests.reads import counting_reads

CLOUD_CREDS = f"{DEMO_CLOUD_EMAIL}:{DEMO_CLOUD_API_TOKEN}"


# -- host and credential checks: tables -----------------------------------------


@pytest.mark.parametrize(
    "kind, raw, expected",
    [
        ("cloud", "https://acme.atlassian.net/", "https://acme.atlassian.net"),
        ("cloud", "  https://ACME.Atlassian.net  \n", "https://acme.atlassian.net"),
        ("cloud", "HTTPS://acme.atlassian.net", "https://acme.atlassian.net"),
        ("dc", "https://jira.corp:8443", "https://jira.corp:8443"),
        ("dc", "https://jira.corp/jira/", "https://jira.corp/jira"),
        ("dc", "https://10.1.2.3", "https://10.1.2.3"),
        ("sandbox", "http://127.0.0.1:8501/sandbox", "http://127.0.0.1:8501/sandbox"),
        ("dc", "http://127.9.9.9:8080", "http://127.9.9.9:8080"),
        ("dc", "http://localhost:2990/jira", "http://localhost:2990/jira"),
        ("dc", "http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_accepted_hosts_are_normalised(kind, raw, expected):
    assert normalise_host(kind, raw) == expected


@pytest.mark.parametrize(
    "kind, raw, words",
    [
        ("cloud", "", "Enter the Jira address"),
        ("cloud", "   ", "Enter the Jira address"),
        ("cloud", "http://acme.atlassian.net", "plain http:// is only allowed for this machine"),
        ("dc", "http://jira.corp", "plain http:// is only allowed for this machine"),
        ("dc", "http://127.0.0.1.evil.example", "plain http:// is only allowed"),
        ("dc", "http://localhost.evil.example", "plain http:// is only allowed"),
        ("dc", "http://10.0.0.1", "plain http:// is only allowed"),
        ("cloud", "ftp://acme.atlassian.net", "must start with https:// (not ftp://)"),
        ("cloud", "file:///etc/passwd", "must start with https:// (not file://)"),
        ("cloud", "javascript:alert(1)", "must start with https://"),
        (
            "cloud",
            "acme.atlassian.net",
            "must start with https:// (e.g. https://acme.atlassian.net)",
        ),
        ("cloud", "not a url", "contains spaces"),
        ("cloud", "https://acme .atlassian.net", "contains spaces"),
        ("cloud", "https://acme.atlassian.net/ jira", "contains spaces"),
        ("cloud", "https://", "no valid host name"),
        ("cloud", "https://bad_host!.example", "no valid host name"),
        ("cloud", "https://acme.atlassian.net/jira", "A Jira Cloud address has no path"),
        ("cloud", "https://acme.atlassian.net/browse/DQ-1", "A Jira Cloud address has no path"),
        ("cloud", "https://acme.atlassian.net/jira/software/projects/DQ/boards/1", "has no path"),
        ("dc", "https://jira.corp/browse/DQ-1", "Remove the path /browse/DQ-1"),
        ("dc", "https://jira.corp/rest/api/2", "Remove the path"),
        ("dc", "https://jira.corp/secure/Dashboard.jspa", "Remove the path"),
        ("dc", "https://jira.corp/a/b/c", "Remove the path"),
        ("cloud", "https://me:pw@acme.atlassian.net", "credentials go in their own field"),
        ("cloud", "https://acme.atlassian.net/?x=1", "?query or #fragment"),
        ("cloud", "https://acme.atlassian.net#top", "?query or #fragment"),
        ("cloud", "https://acme.atlassian.net:99999", "port"),
        ("cloud", "https://acme.atlassian.net:abc", "port"),
        ("dc", "https://" + "a" * 5000 + ".com", "at most 2,048"),
        ("dc", "https://" + "a" * 64 + ".corp", "at most 63 between two dots"),
        ("dc", "https://" + ".".join(["abcdefghi"] * 30), "at most 253 characters"),
        ("dc", "https://jira.corp\x00x", "control characters"),
        ("dc", "https://jira.corp/\x7f", "control characters"),
        ("dc", "https://[::1", "not a valid address"),
        ("dc", "https://jira.ëxample.com", "no valid host name"),
        ("dc", "https://jira.corp/../admin", "Remove the path"),
    ],
)
def test_refused_hosts_say_what_is_wrong(kind, raw, words):
    with pytest.raises(InvalidConnectionInput) as caught:
        normalise_host(kind, raw)
    assert caught.value.field == "host"
    assert words in caught.value.message


@pytest.mark.parametrize(
    "flavour, auth, raw, expected",
    [
        (
            "cloud",
            "pat",
            "me@acme.com:tok:en:with:colons",
            ("basic", "me@acme.com", "tok:en:with:colons"),
        ),
        ("cloud", "pat", "  me@acme.com:ATATT3x \n", ("basic", "me@acme.com", "ATATT3x")),
        ("dc", "pat", "NjM0OTQ1MjE4OTc2OpXv", ("bearer", None, "NjM0OTQ1MjE4OTc2OpXv")),
        ("dc", "basic", "jdoe:p:a:ss", ("basic", "jdoe", "p:a:ss")),
        ("dc", "basic", "jörg:pässwörd", ("basic", "jörg", "pässwörd")),
    ],
)
def test_credentials_split_at_the_first_colon(flavour, auth, raw, expected):
    # Latin-1 beyond ASCII is fine: requests sends Basic credentials as Latin-1.
    assert parse_credentials(flavour, auth, raw, cloud_site=True) == expected


@pytest.mark.parametrize(
    "flavour, auth, raw, words",
    [
        ("cloud", "pat", "", "Enter the credentials"),
        ("cloud", "pat", "me@acme.com", "Enter email:api_token, with a colon"),
        ("cloud", "pat", "ATATT3xFfGF0token", "with a colon"),
        ("cloud", "pat", ":token", "before the colon is empty"),
        ("cloud", "pat", "me@acme.com:", "after the colon is empty"),
        ("cloud", "pat", "me:token", "Atlassian account email"),
        ("cloud", "pat", "me@acme.com:tok en", "contains spaces"),
        ("dc", "pat", "", "Enter the credentials"),
        ("dc", "pat", "   ", "Enter the credentials"),
        ("dc", "pat", "jdoe:secret", "choose 'Username and password'"),
        ("dc", "pat", "tok en", "contains spaces"),
        ("dc", "basic", "jdoe", "Enter username:password, with a colon"),
        ("dc", "basic", "jdoe:", "after the colon is empty"),
        ("dc", "basic", ":secret", "before the colon is empty"),
        ("dc", "pat", "tok€n", "1 character(s) that cannot be sent to Jira"),
        ("dc", "basic", "jdoe:pa€ss", "Latin-1"),
        ("dc", "basic", "jd€e:pass", "Latin-1"),
        ("cloud", "pat", "me@acme.com:tok€", "Latin-1"),
        ("dc", "pat", "tok\x00en", "control characters"),
        ("dc", "basic", "jdoe:pa\x1bss", "control characters"),
        ("dc", "pat", "t" * 5000, "at most 4,096"),
        ("dc", "pat", "s3cr€t-t0ken", "not shown"),
    ],
)
def test_refused_credentials_say_what_is_wrong(flavour, auth, raw, words):
    with pytest.raises(InvalidConnectionInput) as caught:
        parse_credentials(flavour, auth, raw, cloud_site=True)
    assert caught.value.field == "credentials"
    if words == "not shown":  # the message names no part of the secret
        assert "€" not in caught.value.message.split("(")[0] and "s3cr" not in caught.value.message
        assert "t0ken" not in str(caught.value)
    else:
        assert words in caught.value.message


@pytest.mark.parametrize(
    "data, field, words",
    [
        (ConnectionInput("server", "https://x.example", "a:b"), "kind", "Choose Jira Cloud"),
        (
            ConnectionInput("sandbox", "http://127.0.0.1/sandbox", "a:b", flavour="both"),
            "kind",
            "sandbox",
        ),
        (
            ConnectionInput(
                "cloud", "https://x.atlassian.net", "me@x.com:t", api_prefix="rest api"
            ),
            "api_prefix",
            "without spaces",
        ),
        (
            ConnectionInput(
                "cloud", "https://x.atlassian.net", "me@x.com:t", ca_bundle="/no/such/ca.pem"
            ),
            "ca_bundle",
            "No CA bundle file at /no/such/ca.pem",
        ),
        (ConnectionInput("cloud", "http://x.atlassian.net", "me@x.com:t"), "host", "https"),
        (
            ConnectionInput("dc", "https://jira.corp", "user-no-colon", dc_auth="basic"),
            "credentials",
            "colon",
        ),
    ],
)
def test_validate_input_names_the_field(data, field, words):
    with pytest.raises(InvalidConnectionInput) as caught:
        validate_input(data)
    assert (caught.value.field, words in caught.value.message) == (field, True)


def test_validate_input_normalises_everything(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    got = validate_input(
        ConnectionInput(
            "sandbox",
            "http://127.0.0.1:9/sandbox/",
            "admin:admin",
            dc_auth="basic",
            flavour="dc",
            api_prefix="/rest/api/2/",
            trust_env=False,
            ca_bundle=f" {ca} ",
        )
    )
    assert (got.kind, got.flavour, got.host, got.auth_type, got.username) == (
        "sandbox",
        "dc",
        "http://127.0.0.1:9/sandbox",
        "basic",
        "admin",
    )
    assert (got.api_prefix, got.trust_env, got.ca_bundle) == ("rest/api/2", False, str(ca))
    assert got.secret.reveal() == "admin" and "admin:admin" not in repr(got)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("https://desk.corp/", "https://desk.corp"),
        ("http://10.0.0.5:8501", "http://10.0.0.5:8501"),
        ("https://corp.example/anomaly-desk/", "https://corp.example/anomaly-desk"),
    ],
)
def test_public_url_accepts_http_and_https(raw, expected):
    assert validate_public_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "desk.corp", "ftp://desk.corp", "https://desk corp"])
def test_public_url_refuses_non_urls(raw):
    with pytest.raises(InvalidConnectionInput) as caught:
        validate_public_url(raw)
    assert caught.value.field == "public_url"


def test_secrets_toml_sections_become_input():
    assert deployed_input_from_secrets({}) is None
    cloud = deployed_input_from_secrets(
        {
            "jira": {
                "kind": "cloud",
                "host": "https://a.atlassian.net",
                "email": "me@a.com",
                "api_token": "t:1",
            }
        }
    )
    assert (cloud.kind, cloud.credentials, cloud.flavour) == ("cloud", "me@a.com:t:1", "cloud")
    pat = deployed_input_from_secrets({"jira": {"kind": "dc", "host": "https://j", "token": "p"}})
    assert (pat.flavour, pat.dc_auth, pat.credentials) == ("dc", "pat", "p")
    basic = deployed_input_from_secrets(
        {
            "jira": {
                "kind": "dc",
                "host": "https://j",
                "username": "u",
                "password": "pw",
                "trust_env": False,
            }
        }
    )
    assert (basic.dc_auth, basic.credentials, basic.trust_env) == ("basic", "u:pw", False)
    sandbox = deployed_input_from_secrets(
        {"jira": {"kind": "sandbox", "flavour": "dc", "host": "http://127.0.0.1:1", "token": "x"}}
    )
    assert (sandbox.kind, sandbox.flavour) == ("sandbox", "dc")


# -- the repository and /myself over HTTP ---------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandbox_in_thread(SandboxConfig(flavour="both", hang_seconds=3))
    yield running
    running.stop()


@pytest.fixture
def fresh_sandbox(sandbox):
    yield sandbox
    sandbox.runtime.faults.clear_faults()
    sandbox.runtime.faults.reset()


@pytest.fixture(scope="module")
def mounted_sandbox():
    """The sandbox under /sandbox, as the dashboard mounts it: demo mode talks to it."""
    app = Starlette(
        routes=[Mount("/sandbox", app=create_sandbox_app(SandboxConfig(flavour="both")))]
    )
    base, stop = serve_in_thread(app)
    yield base
    stop()


def make_store(tmp_path, *, dashboard_url="http://127.0.0.1:1", secrets=None, key=None):
    env = {
        "ANOMALY_DESK_DB": str(tmp_path / "desk.duckdb"),
        "ANOMALY_DESK_DASHBOARD_URL": dashboard_url,
        "ANOMALY_DESK_PUBLIC_URL": "https://desk.example",
    }
    if key:
        env["ANOMALY_DESK_SECRET_KEY"] = key
    settings = load_settings(env)
    db = Database(settings.db_path)
    return ConnectionStore(
        db,
        SecretBox.from_settings(settings),
        settings,
        deployed=deployed_input_from_secrets(secrets or {}),
    ), db


@pytest.fixture
def store(tmp_path):
    store, db = make_store(tmp_path)
    yield store
    db.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cloud_input(sandbox, creds=CLOUD_CREDS, **kw):
    return ConnectionInput("sandbox", sandbox.base_url, creds, **kw)


def test_no_connection_means_demo_mode_on_the_mounted_sandbox(store):
    demo = store.active()
    assert demo.is_demo and demo.id == DEMO_ID and demo.read_only
    assert (demo.kind, demo.flavour, demo.host) == (
        "sandbox",
        "cloud",
        "http://127.0.0.1:1/sandbox",
    )
    assert demo.username == DEMO_CLOUD_EMAIL and demo.secret.reveal() == DEMO_CLOUD_API_TOKEN
    assert store.list() == []


def test_demo_connection_checks_against_the_sandbox_under_sandbox(tmp_path, mounted_sandbox):
    store, db = make_store(tmp_path, dashboard_url=mounted_sandbox)
    result = test_connection(store, DEMO_ID)
    assert result.ok and result.message == "Connected as Sandbox Demo User"
    assert (
        store.active().check_status == "ok" and store.active().account_name == "Sandbox Demo User"
    )
    db.close()


def test_create_checks_myself_stores_sealed_and_activates(store, sandbox):
    conn, result = store.create(cloud_input(sandbox))
    assert result.ok and result.account_name == "Sandbox Demo User"
    assert (conn.id, conn.active, conn.check_status, conn.account_name) == (
        1,
        True,
        "ok",
        "Sandbox Demo User",
    )
    assert store.active() == conn
    assert conn.secret.reveal() == DEMO_CLOUD_API_TOKEN
    assert DEMO_CLOUD_API_TOKEN not in repr(conn) and DEMO_CLOUD_API_TOKEN not in repr(store.list())
    assert conn.secret.masked() == "••••••••oken"


def test_refused_create_saves_nothing(store, sandbox):
    with pytest.raises(ConnectionCheckFailed, match="HTTP 401.*API token"):
        store.create(cloud_input(sandbox, f"{DEMO_CLOUD_EMAIL}:wrong-token"))
    with pytest.raises(InvalidConnectionInput):
        store.create(ConnectionInput("cloud", "http://acme.atlassian.net", CLOUD_CREDS))
    assert store.list(include_deleted=True) == []
    assert store.active().is_demo


def test_one_active_connection_at_a_time(store, sandbox):
    first, _ = store.create(cloud_input(sandbox))
    second, _ = store.create(cloud_input(sandbox, DEMO_DC_PAT, flavour="dc"))
    assert [c.active for c in store.list()] == [False, True]
    store.activate(first.id)
    assert [c.active for c in store.list()] == [True, False]
    assert store.active().id == first.id
    store.use_demo()
    assert store.active().is_demo and not any(c.active for c in store.list())
    with pytest.raises(ConnectionNotFound):
        store.activate(99)


def test_the_active_connection_is_read_once_until_the_next_write(tmp_path, sandbox):
    store, db = make_store(tmp_path)
    first, _ = store.create(cloud_input(sandbox))
    reads = counting_reads(db)
    assert store.active() == store.active() and store.active().id == first.id
    assert len(reads) <= 2  # one answer: the stored id and its row, for every rerun after
    seen = len(reads)
    store.use_demo()  # a write: the next question reads again
    assert store.active().is_demo and len(reads) > seen
    db.close()


def test_edit_with_blank_credentials_keeps_the_stored_secret(store, sandbox):
    conn, _ = store.create(cloud_input(sandbox))
    edited, _ = store.update(
        conn.id, cloud_input(sandbox, "", api_prefix="rest/api/3", trust_env=False)
    )
    assert edited.secret == conn.secret and edited.username == DEMO_CLOUD_EMAIL
    assert (edited.api_prefix, edited.trust_env) == ("rest/api/3", False)
    with pytest.raises(ConnectionCheckFailed, match="401"):
        store.update(conn.id, cloud_input(sandbox, f"{DEMO_CLOUD_EMAIL}:wrong"))
    assert store.get(conn.id).secret.reveal() == DEMO_CLOUD_API_TOKEN  # nothing half-written


def test_edit_keeps_the_kind_and_validates_the_new_host(store, sandbox):
    conn, _ = store.create(cloud_input(sandbox))
    with pytest.raises(InvalidConnectionInput) as caught:
        store.update(conn.id, replace(cloud_input(sandbox, ""), host="ftp://x", kind="cloud"))
    assert caught.value.field == "host"
    assert store.get(conn.id).kind == "sandbox"


def test_soft_delete_keeps_the_row_for_history(store, sandbox):
    conn, _ = store.create(cloud_input(sandbox))
    store.delete(conn.id)
    assert store.list() == [] and store.active().is_demo
    kept = store.get(conn.id)
    assert kept.deleted_at is not None and kept.host == sandbox.base_url
    assert [c.id for c in store.list(include_deleted=True)] == [conn.id]
    with pytest.raises(ConnectionNotFound):
        store.delete(conn.id)


def test_defaults_and_public_url_are_kept_per_connection(store, sandbox):
    conn, _ = store.create(cloud_input(sandbox))
    assert store.public_url(conn) == "https://desk.example"
    saved = store.save_defaults(
        conn.id, TicketDefaults("DQ", "10001", "Task", "High", "https://desk.corp/")
    )
    assert (saved.project_key, saved.issue_type_id, saved.issue_type_name, saved.priority_name) == (
        "DQ",
        "10001",
        "Task",
        "High",
    )
    assert store.public_url(saved) == "https://desk.corp"
    with pytest.raises(InvalidConnectionInput) as caught:
        store.save_defaults(conn.id, TicketDefaults(public_url="desk.corp"))
    assert caught.value.field == "public_url"
    demo = store.save_defaults(DEMO_ID, TicketDefaults("OPS"))
    store.use_demo()
    assert demo.is_demo and demo.project_key == "OPS" and store.active().project_key == "OPS"


def test_lists_for_the_defaults_come_from_jira(store, sandbox):
    conn, _ = store.create(cloud_input(sandbox))
    assert [p.key for p in checks.projects(store.get(conn.id))] == ["DQ", "OPS"]
    types = checks.issue_types(store.get(conn.id), "DQ")
    assert "Task" in [t.name for t in types] and not any(t.subtask for t in types)
    task = next(t for t in types if t.name == "Task")
    assert "High" in checks.priorities(store.get(conn.id), "DQ", task.id)


def test_plaintext_token_never_reaches_the_database_file(tmp_path):
    token = "UNIQUE-plaintext-token-7d1e95c4"
    running = start_sandbox_in_thread(SandboxConfig(flavour="cloud", cloud_api_token=token))
    try:
        store, db = make_store(tmp_path)
        conn, _ = store.create(
            ConnectionInput("sandbox", running.base_url, f"{DEMO_CLOUD_EMAIL}:{token}")
        )
        with db.transaction() as cur:
            sealed = cur.execute(
                "SELECT secret_sealed FROM jira_connections WHERE id = ?", [conn.id]
            ).fetchone()[0]
        with db.read() as cur:
            cur.execute("CHECKPOINT")
        db.close()
    finally:
        running.stop()
    data = b"".join(
        p.read_bytes() for p in tmp_path.glob("desk.duckdb*") if not p.name.endswith(".key")
    )
    assert sealed.encode() in data  # the file was really written
    assert token.encode() not in data and token[:12].encode() not in data
    assert (tmp_path / "desk.duckdb.key").read_bytes().strip() not in data  # the key is not inside


def test_secrets_toml_connection_is_active_read_only_and_never_stored(tmp_path, sandbox):
    token = DEMO_CLOUD_API_TOKEN
    secrets = {
        "jira": {
            "kind": "sandbox",
            "host": sandbox.base_url,
            "email": DEMO_CLOUD_EMAIL,
            "api_token": token,
        }
    }
    store, db = make_store(tmp_path, secrets=secrets)
    active = store.active()
    assert (active.id, active.source, active.read_only, active.host) == (
        SECRETS_ID,
        "secrets",
        True,
        sandbox.base_url,
    )
    assert (
        test_connection(store, SECRETS_ID).ok and store.active().account_name == "Sandbox Demo User"
    )
    with db.read() as cur:
        row = cur.execute(
            "SELECT secret_sealed, host FROM jira_connections WHERE id = ?", [SECRETS_ID]
        ).fetchone()
    assert row == (None, sandbox.base_url)
    db.close()


def test_bad_secrets_toml_is_ignored_with_a_reason(tmp_path):
    store, db = make_store(
        tmp_path,
        secrets={
            "jira": {"kind": "cloud", "host": "http://a.example", "email": "e@x", "api_token": "t"}
        },
    )
    assert store.active().is_demo
    assert (
        "secrets.toml [jira] is not used" in store.deployed_error
        and "https" in store.deployed_error
    )
    db.close()


def test_a_changed_key_asks_for_the_token_again(tmp_path, sandbox):
    store, db = make_store(tmp_path, key=Fernet.generate_key().decode())
    conn, _ = store.create(cloud_input(sandbox))
    db.close()
    store, db = make_store(tmp_path, key=Fernet.generate_key().decode())
    unreadable = store.get(conn.id)
    assert "enter it again" in unreadable.secret.masked()
    result = test_connection(store, conn.id)
    assert not result.ok and "cannot be decrypted with the current key" in result.message
    with pytest.raises(InvalidConnectionInput, match="enter it again"):
        store.update(conn.id, cloud_input(sandbox, ""))
    fixed, _ = store.update(conn.id, cloud_input(sandbox))
    assert fixed.secret.reveal() == DEMO_CLOUD_API_TOKEN
    db.close()


# -- /myself failures in words ---------------------------------------------------


def checked(data: ConnectionInput):
    return check(validate_input(data))


def test_check_success_gives_the_display_name(sandbox):
    result = checked(cloud_input(sandbox))
    assert result.ok and result.message == "Connected as Sandbox Demo User"


def test_wrong_cloud_token_is_401_in_words(store, sandbox):
    conn, _ = store.create(cloud_input(sandbox))
    sandbox_bad = replace(
        conn, secret=validate_input(cloud_input(sandbox, f"{DEMO_CLOUD_EMAIL}:bad")).secret
    )
    result = check(sandbox_bad)
    assert not result.ok
    assert "HTTP 401" in result.message and "email:api_token" in result.message
    assert "expire within a year" in result.message and "bad" not in result.message.split("401")[0]


def test_revoked_pat_is_401_in_words(sandbox):
    result = checked(cloud_input(sandbox, "revoked-pat", flavour="dc"))
    assert "personal access token" in result.message and "revoked" in result.message


def test_test_connection_records_a_failure(store, fresh_sandbox):
    conn, _ = store.create(cloud_input(fresh_sandbox))
    fresh_sandbox.runtime.faults.add_faults([Fault("status", path="myself", status=403)])
    result = test_connection(store, conn.id)
    assert not result.ok and "HTTP 403" in result.message and "permission" in result.message
    stored = store.get(conn.id)
    assert (stored.check_status, stored.check_message) == ("failed", result.message)
    assert stored.account_name == "Sandbox Demo User"  # the last known name stays


def test_captcha_lockout_says_log_in_in_a_browser(fresh_sandbox):
    fresh_sandbox.runtime.faults.add_faults([Fault("captcha", path="myself")])
    result = checked(cloud_input(fresh_sandbox, "admin:admin", flavour="dc", dc_auth="basic"))
    assert "CAPTCHA" in result.message and "log in once in a browser" in result.message


def test_timeout_is_said_in_words(fresh_sandbox, monkeypatch):
    monkeypatch.setattr(models, "CHECK_TIMEOUT", 0.5)
    fresh_sandbox.runtime.faults.add_faults([Fault("timeout", path="myself")])
    result = checked(cloud_input(fresh_sandbox))
    assert "did not answer" in result.message and "timeout" in result.message


def test_closed_port_is_connection_refused_in_words():
    result = checked(ConnectionInput("dc", f"http://127.0.0.1:{closed_port()}", "pat"))
    assert result.message.startswith("Could not connect to http://127.0.0.1:")
    assert "refused" in result.message


def test_unknown_host_name_is_dns_in_words():
    result = checked(ConnectionInput("dc", "https://no-such-host.invalid", "pat"))
    assert "not found (DNS)" in result.message and "spelling" in result.message


def test_detect_kind_reads_server_info(sandbox):
    assert detect_kind("https://acme.atlassian.net/") == "cloud"  # by name, no call
    assert detect_kind(sandbox.base_url) == "cloud"
    with pytest.raises(InvalidConnectionInput):
        detect_kind("ftp://x")


@pytest.mark.parametrize(
    "error, kind, auth, words",
    [
        (BadCredentials("x"), "cloud", "basic", "email:api_token"),
        (BadCredentials("x"), "dc", "bearer", "personal access token"),
        (BadCredentials("x"), "dc", "basic", "username or password"),
        (Forbidden("x"), "cloud", "basic", "basic authentication is blocked"),
        (CaptchaRequired("x"), "dc", "basic", "log in once in a browser"),
        (JiraTimeout("x"), "cloud", "basic", "did not answer"),
        (JiraDnsError("x"), "cloud", "basic", "not found (DNS)"),
        (JiraTLSError("x"), "dc", "basic", "set its CA bundle path"),
        (JiraConnectionError("x"), "dc", "basic", "refused or dropped"),
        (NotFound("x", status=404), "dc", "basic", "No Jira REST API"),
        (RateLimited("x", status=429), "cloud", "basic", "wait a minute"),
        (ServerError("x", status=502), "cloud", "basic", "HTTP 502"),
    ],
)
def test_every_error_has_words_a_user_can_act_on(error, kind, auth, words):
    creds = "me@x.com:t" if kind == "cloud" else ("u:p" if auth == "basic" else "pat")
    conn = validate_input(
        ConnectionInput(
            kind, "https://jira.example.com", creds, dc_auth="basic" if auth == "basic" else "pat"
        )
    )
    assert words in explain(error, conn)


def test_make_client_follows_the_connection(sandbox):
    dc = validate_input(cloud_input(sandbox, DEMO_DC_PAT, flavour="dc", trust_env=False))
    client = make_client(dc)
    assert (client.cloud, client.api_prefix, client.base_url) == (
        False,
        "rest/api/2",
        sandbox.base_url,
    )
    assert DEMO_DC_PAT not in repr(client)
    assert client.myself().display_name == "Sandbox Demo User"
