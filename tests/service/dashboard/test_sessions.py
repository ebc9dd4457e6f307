"""The sign-in cookie holds a signed, expiring session token, not the API key; behind a
trusted TLS proxy it is marked Secure."""

import os
import stat
import time

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth.service import hash_key
from service.auth.session import SESSION_SECONDS
from service.auth.tokens import SECRET_FILE, load_secret, sign, verify

from .test_sign_in import cookies_set, key_of, sign_in

HTML = {"Accept": "text/html"}


def test_tokens_verify_only_unaltered_unexpired_and_under_their_secret():
    secret = b"s" * 32
    digest = hash_key("la_key")
    token = sign(secret, digest, 60, now=1000)
    assert verify(secret, token, now=1000) == digest
    assert verify(secret, token, now=1060) == digest
    assert verify(secret, token, now=1061) is None, "expired"
    assert verify(b"t" * 32, token, now=1000) is None, "another server's secret"
    version, expires, named, tag = token.split(".")
    assert "la_key" not in token
    stretched = ".".join([version, str(int(expires) + 10**6), named, tag])
    assert verify(secret, stretched, now=1000) is None, "a later expiry breaks the tag"
    another = ".".join([version, expires, hash_key("la_other"), tag])
    assert verify(secret, another, now=1000) is None, "another key breaks the tag"
    for garbage in ("", "la_key", "v1.x.y.z", "a.b", token + ".", token[:-2] + "!!"):
        assert verify(secret, garbage, now=1000) is None


def test_the_secret_is_made_once_and_kept_private(tmp_path):
    first = load_secret(None, tmp_path)
    assert len(first) == 32 and load_secret(None, tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [SECRET_FILE], "no temporary left"
    assert load_secret("c" * 32, tmp_path) == b"c" * 32


@pytest.mark.parametrize("content", ["", "abc", "zz" * 32, "ab" * 16])
def test_a_stored_secret_that_is_not_whole_is_refused_not_used(tmp_path, content):
    # An empty secret would sign tokens anyone holding a key's digest could make.
    (tmp_path / SECRET_FILE).write_text(content)
    with pytest.raises(RuntimeError, match="does not hold a session secret"):
        load_secret(None, tmp_path)


def test_a_short_configured_secret_fails_at_start_up(settings):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least 32"):
        settings.model_validate({**settings.model_dump(), "session_secret": "short"})


def test_an_expired_or_forged_session_signs_out(client, admin, settings, finished_audit):
    secret = load_secret(None, settings.data_dir)
    stale = sign(
        secret, hash_key(key_of(admin)), SESSION_SECONDS, now=time.time() - SESSION_SECONDS - 1
    )
    client.cookies.set("labelaudit_key", stale)
    assert client.get("/audits").status_code == 401
    page = client.get(f"/audits/{finished_audit}", headers=HTML, follow_redirects=False)
    assert page.status_code == 303
    forged = sign(b"f" * 32, hash_key(key_of(admin)), SESSION_SECONDS)
    client.cookies.set("labelaudit_key", forged)
    assert client.get("/audits").status_code == 401
    client.cookies.set("labelaudit_key", key_of(admin))
    assert client.get("/audits").status_code == 401, "the bare key is no session token"
    client.cookies.set("labelaudit_key", hash_key(key_of(admin)))
    assert client.get("/audits").status_code == 401, "nor is its digest"


def test_revoking_the_key_ends_its_sessions(client, admin, make_key):
    reviewer_key = make_key("reviewer-carol", "reviewer")
    sign_in(client, {"Authorization": f"Bearer {reviewer_key}"})
    assert client.get("/audits").status_code == 200
    revoked = client.delete("/keys/reviewer-carol", headers=admin)
    assert revoked.status_code == 204
    answer = client.get("/audits")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_key"


def test_sessions_outlive_a_restart_and_hold_across_processes(client, admin, settings):
    sign_in(client, admin)
    token = client.cookies["labelaudit_key"]
    with TestClient(create_app(settings)) as another:
        another.cookies.set("labelaudit_key", token)
        assert another.get("/audits").status_code == 200


@pytest.mark.parametrize(
    ("trusted", "peer", "proto", "secure"),
    [
        ("10.0.0.5", "10.0.0.5", "https", True),
        ("10.0.0.0/8, 192.168.1.1", "10.20.30.40", "https,http", True),
        ("10.0.0.5", "10.0.0.5", "http", False),
        ("10.0.0.5", "10.0.0.6", "https", False),
        ("", "10.0.0.5", "https", False),
    ],
    ids=["trusted", "trusted-network", "proxy-says-http", "untrusted-peer", "none-trusted"],
)
def test_cookies_are_secure_behind_a_trusted_tls_proxy(
    settings, database, admin, trusted, peer, proto, secure
):
    app = create_app(settings.model_copy(update={"trusted_proxies": trusted}))
    with TestClient(app, client=(peer, 40000)) as client:
        response = client.post(
            "/sign-in",
            data={"key": key_of(admin)},
            headers={"X-Forwarded-Proto": proto},
            follow_redirects=False,
        )
    assert response.status_code == 303
    cookies = cookies_set(response)
    assert {name: bool(cookie[name]["secure"]) for name, cookie in cookies.items()} == {
        "labelaudit_key": secure,
        "labelaudit_csrf": secure,
    }


def test_a_mistyped_trusted_proxy_fails_at_start_up(settings):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="does not appear to be an IPv4 or IPv6"):
        settings.model_validate({**settings.model_dump(), "trusted_proxies": "10.0.0.300"})
