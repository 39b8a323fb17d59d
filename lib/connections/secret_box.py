"""Encryption of stored Jira secrets (Fernet), and a secret value that never prints itself.

The key comes from ``settings.secret_key`` (``ANOMALY_DESK_SECRET_KEY`` or
secrets.toml), else from a key file beside the database created on first use
with owner-only permissions. The key is never written into the database: a
copied database file alone does not give the tokens away.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from lib.settings import Settings

MASK = "••••••••"
_SHOWN_TAIL = 4  # never reveal more than 4 characters of a secret
_MIN_LENGTH_FOR_TAIL = 12  # a short secret shows nothing: 4 of 8 characters is half of it
_MAKE_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretKeyInvalid(ValueError):
    """The configured key (or the key file) is not a Fernet key."""


class SecretUnreadable(Exception):
    """A stored secret that the current key cannot decrypt (the key changed)."""

    def __init__(self) -> None:
        super().__init__(
            "The stored token cannot be decrypted with the current key "
            "(the secret key changed): enter it again."
        )


def mask(value: str) -> str:
    """``••••••••abcd``: at most the last 4 characters, none for short secrets."""
    if len(value) >= _MIN_LENGTH_FOR_TAIL:
        return MASK + value[-_SHOWN_TAIL:]
    return MASK


class Secret:
    """A credential held in memory; ``repr``/``str`` show only a full mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value  # None: stored but unreadable with the current key

    @classmethod
    def unreadable(cls) -> Secret:
        return cls(None)

    @property
    def readable(self) -> bool:
        return self._value is not None

    def reveal(self) -> str:
        """The plain secret, for the Authorization header only.

        Raises:
            SecretUnreadable: it could not be decrypted.
        """
        if self._value is None:
            raise SecretUnreadable()
        return self._value

    def masked(self) -> str:
        if self._value is None:
            return MASK + " (cannot be decrypted: enter it again)"
        return mask(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        if self._value is None or other._value is None:
            return self._value is other._value
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)  # all equal-hashing: a hash of the value could leak it

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__


def _fernet(key: bytes | str, where: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyInvalid(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes, 44 characters). "
            f"Make one with: {_MAKE_KEY}"
        ) from None


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``; a new one, written with mode 0600, when the file is missing.

    Raises:
        SecretKeyInvalid: the file exists but holds no Fernet key.
    """
    if path.exists():
        return _read_key_file(path)
    key = Fernet.generate_key()
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() publishes the whole file at once and never replaces a key another
        # process made first: a reader can never see an empty key file.
        os.link(draft, path)
    except FileExistsError:
        return _read_key_file(path)
    finally:
        draft.unlink(missing_ok=True)
    return key


def _read_key_file(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)  # ours, and meant for the owner only
    key = path.read_bytes().strip()
    _fernet(key, f"The key file {path}")
    return key


class SecretBox:
    """Seals secrets for the database and opens them again; the key loads on first use."""

    def __init__(self, key: bytes | str | Callable[[], bytes]) -> None:
        self._lock = threading.Lock()
        if callable(key):
            self._load, self._fernet = key, None
        else:
            self._load, self._fernet = None, _fernet(key, "The secret key")

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The configured key, or the key file at ``settings.key_path`` (created when first needed).

        Raises:
            SecretKeyInvalid: the configured key is not a Fernet key.
        """
        if settings.secret_key:
            key = settings.secret_key.strip()
            _fernet(key, "ANOMALY_DESK_SECRET_KEY (or secret_key in secrets.toml)")
            return cls(key)
        path = settings.key_path
        return cls(lambda: load_or_create_key(path))

    def _box(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = _fernet(self._load(), "The key file")
            return self._fernet

    def seal(self, plaintext: str) -> str:
        """The encrypted form (ASCII text) to store."""
        return self._box().encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain secret.

        Raises:
            SecretUnreadable: the key changed since it was sealed.
        """
        try:
            return self._box().decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise SecretUnreadable() from None

    def __repr__(self) -> str:
        return "SecretBox(key='***')"
