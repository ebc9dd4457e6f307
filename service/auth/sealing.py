"""Sealed, expiring session tokens: the sign-in cookie holds one instead of the API key.

A token carries the key encrypted and authenticated under the server's session secret,
with its expiry, so a copied cookie neither reveals the long-lived key nor outlives the
expiry; the key inside is checked like a Bearer key on every request, so revoking it ends
every session made with it. The standard library has no block cipher, so the key is
encrypted with HMAC-SHA256 as a pseudo-random function in counter mode and the whole
token is authenticated with a second HMAC (encrypt-then-MAC), both keyed from the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

VERSION = "v1"
NONCE_BYTES = 16
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


def seal(secret: bytes, key: str, lifetime_s: int, *, now: float | None = None) -> str:
    """``key`` as a token that :func:`unseal` opens until ``lifetime_s`` seconds from now."""
    expires = int((time.time() if now is None else now) + lifetime_s)
    nonce = secrets.token_bytes(NONCE_BYTES)
    plain = key.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(secret, nonce, len(plain)), strict=True))
    body = f"{VERSION}.{expires}.{_b64(nonce)}.{_b64(cipher)}"
    return f"{body}.{_b64(_tag(secret, body))}"


def unseal(secret: bytes, token: str, *, now: float | None = None) -> str | None:
    """The key inside ``token``, or None when it was altered, made under another secret
    or has expired."""
    body, _, tag = token.rpartition(".")
    try:
        version, expires, nonce, cipher = body.split(".")
        valid = hmac.compare_digest(_unb64(tag), _tag(secret, body))
        if not valid or version != VERSION or int(expires) < (time.time() if now is None else now):
            return None
        hidden = _unb64(cipher)
        stream = _keystream(secret, _unb64(nonce), len(hidden))
        return bytes(a ^ b for a, b in zip(hidden, stream, strict=True)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _subkey(secret: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, b"labelaudit session " + purpose, hashlib.sha256).digest()


def _keystream(secret: bytes, nonce: bytes, length: int) -> bytes:
    key = _subkey(secret, b"encryption")
    blocks = (
        hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        for counter in range(-(-length // 32))
    )
    return b"".join(blocks)[:length]


def _tag(secret: bytes, body: str) -> bytes:
    return hmac.new(_subkey(secret, b"authentication"), body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
