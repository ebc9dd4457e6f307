"""Signed, expiring session tokens: the sign-in cookie holds one instead of the API key.

A token names its key by the digest the database stores (:func:`.service.hash_key`, which
opens nothing when sent as a Bearer key) and carries its expiry, both signed with
HMAC-SHA256 under the server's session secret. So a copied cookie never reveals the key and
stops working at its expiry, and since the digest is looked up on every request, revoking
or replacing the key ends every session made with it. Nothing in a token is secret, so
nothing is encrypted: the signature is what makes it unforgeable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

VERSION = "v1"
SECRET_BYTES = 32
SECRET_FILE = "session-secret"


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, else the one stored under ``data_dir`` (made on first use,
    readable by its owner only; every API process sharing the data directory reads it).

    A stored file that does not hold a whole secret is refused: tokens signed with an empty
    one could be made by anyone who knows a key's digest. (The configured one's length is
    checked with the settings, at start-up.)
    """
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        _write_secret(path)
    try:
        secret = bytes.fromhex(path.read_text().strip())
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise RuntimeError(
            f"{path} does not hold a session secret ({2 * SECRET_BYTES} hex digits); "
            "delete it and restart to make a new one (everyone is signed out)"
        )
    return secret


def _write_secret(path: Path) -> None:
    """Write a new secret whole under a temporary name, then link it into place: a reader
    never sees a half-written file, and of two processes starting at once one wins and
    both read its secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}-{secrets.token_hex(8)}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(secrets.token_hex(SECRET_BYTES))
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def sign(secret: bytes, key_digest: str, lifetime_s: int, *, now: float | None = None) -> str:
    """A token naming ``key_digest`` that :func:`verify` accepts for ``lifetime_s`` seconds."""
    expires = int((time.time() if now is None else now) + lifetime_s)
    body = f"{VERSION}.{expires}.{key_digest}"
    return f"{body}.{_b64(_tag(secret, body))}"


def verify(secret: bytes, token: str, *, now: float | None = None) -> str | None:
    """The key digest ``token`` names, or None when it was altered, signed under another
    secret or has expired."""
    body, _, tag = token.rpartition(".")
    try:
        version, expires, key_digest = body.split(".")
        if not hmac.compare_digest(_unb64(tag), _tag(secret, body)):
            return None
        if version != VERSION or int(expires) < (time.time() if now is None else now):
            return None
    except (ValueError, binascii.Error):
        return None
    return key_digest


def _tag(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, b"labelaudit session " + body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
