import os
import stat
import threading

import pytest
from cryptography.fernet import Fernet

from lib.connections.secret_box import (
    MASK,
    Secret,
    SecretBox,
    SecretKeyInvalid,
    SecretUnreadable,
    load_or_create_key,
    mask,
)
from lib.settings import load_settings

TOKEN = "ATATT3xFfGF0-very-secret-token-9f3a"


def settings_for(tmp_path, key: str | None = None):
    env = {"ANOMALY_DESK_DB": str(tmp_path / "desk.duckdb")}
    if key is not None:
        env["ANOMALY_DESK_SECRET_KEY"] = key
    return load_settings(env)


def test_seal_then_open_gives_the_secret_back_and_the_sealed_form_hides_it(tmp_path):
    box = SecretBox.from_settings(settings_for(tmp_path))
    sealed = box.seal(TOKEN)
    assert TOKEN not in sealed and sealed != box.seal(TOKEN)  # Fernet adds a random IV
    assert box.open(sealed) == TOKEN


def test_key_file_is_created_on_first_use_only_with_mode_0600(tmp_path):
    settings = settings_for(tmp_path)
    box = SecretBox.from_settings(settings)
    assert not settings.key_path.exists()  # demo mode alone writes no key
    box.seal("x")
    assert stat.S_IMODE(settings.key_path.stat().st_mode) == 0o600
    assert settings.key_path.parent == settings.db_path.parent
    again = SecretBox.from_settings(settings)
    assert again.open(box.seal(TOKEN)) == TOKEN  # the same key is read back


def test_key_file_is_made_once_when_two_threads_race(tmp_path):
    path = tmp_path / "race.key"
    keys: list[bytes] = []
    failures: list[BaseException] = []

    def load() -> None:
        try:
            keys.append(load_or_create_key(path))
        except BaseException as exc:  # a reader that saw a half-written file
            failures.append(exc)

    for _ in range(20):
        path.unlink(missing_ok=True)
        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == [] and len(keys) == 8 and len(set(keys)) == 1
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        keys.clear()
    assert [p.name for p in tmp_path.iterdir()] == ["race.key"]  # no drafts left behind


def test_loose_key_file_permissions_are_tightened(tmp_path):
    path = tmp_path / "loose.key"
    path.write_bytes(Fernet.generate_key())
    os.chmod(path, 0o644)
    load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_configured_key_is_used_and_no_key_file_is_written(tmp_path):
    key = Fernet.generate_key().decode()
    settings = settings_for(tmp_path, key)
    sealed = SecretBox.from_settings(settings).seal(TOKEN)
    assert Fernet(key.encode()).decrypt(sealed.encode()).decode() == TOKEN
    assert not settings.key_path.exists()


@pytest.mark.parametrize("bad", ["not-a-key", "short", "x" * 44])
def test_a_configured_key_that_is_not_fernet_is_refused_clearly(tmp_path, bad):
    with pytest.raises(
        SecretKeyInvalid, match="ANOMALY_DESK_SECRET_KEY.*not a Fernet key.*generate_key"
    ):
        SecretBox.from_settings(settings_for(tmp_path, bad))


def test_a_broken_key_file_is_refused_clearly(tmp_path):
    settings = settings_for(tmp_path)
    settings.key_path.write_text("garbage")
    with pytest.raises(SecretKeyInvalid, match="key file"):
        SecretBox.from_settings(settings).seal("x")


def test_a_changed_key_says_enter_the_token_again(tmp_path):
    sealed = SecretBox(Fernet.generate_key()).seal(TOKEN)
    with pytest.raises(
        SecretUnreadable, match="cannot be decrypted with the current key.*enter it again"
    ):
        SecretBox(Fernet.generate_key()).open(sealed)


@pytest.mark.parametrize(
    "value, shown",
    [
        ("sandbox-api-token", MASK + "oken"),
        ("ATATT3xFfGF0abcd", MASK + "abcd"),
        ("short-secret", MASK + "cret"),
        ("eleven-char", MASK),  # short secrets show nothing
        ("pw", MASK),
    ],
)
def test_mask_shows_at_most_the_last_four_characters(value, shown):
    assert mask(value) == shown
    assert Secret(value).masked() == shown


def test_secret_never_prints_itself():
    secret = Secret(TOKEN)
    for text in (repr(secret), str(secret), f"{secret}", repr([secret])):
        assert TOKEN not in text and TOKEN[-4:] not in text
    assert secret.reveal() == TOKEN
    assert secret == Secret(TOKEN) and secret != Secret("other")
    assert "SecretBox(key='***')" == repr(SecretBox(Fernet.generate_key()))


def test_unreadable_secret_refuses_to_reveal_and_says_so_when_masked():
    secret = Secret.unreadable()
    assert not secret.readable
    assert "enter it again" in secret.masked()
    with pytest.raises(SecretUnreadable):
        secret.reveal()
