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
    readable by its owner only; every API process sharing the data directory reads it)."""
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once, one writes and both read its secret.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(handle, "w") as file:
        file.write(secrets.token_hex(SECRET_BYTES))
    return bytes.fromhex(path.read_text().strip())


def _read_when_written(path: Path) -> bytes:
    for _ in range(50):
        text = path.read_text().strip()
        if len(text) == 2 * SECRET_BYTES:
            return bytes.fromhex(text)
        time.sleep(0.01)
    raise RuntimeError(f"{path} holds no session secret; delete it to make a new one")


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
