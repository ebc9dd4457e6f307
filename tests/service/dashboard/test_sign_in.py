"""Signing in with an API key (an HttpOnly cookie), CSRF on cookie requests, signing out."""

from http.cookies import SimpleCookie

import pytest

HTML = {"Accept": "text/html"}


def key_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def cookies_set(response) -> dict[str, SimpleCookie]:
    """Each Set-Cookie header by cookie name, with its attributes."""
    parsed = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        parsed.update({name: cookie for name in cookie})
    return parsed


def sign_in(client, headers, next_path="/"):
    response = client.post(
        "/sign-in", data={"key": key_of(headers), "next": next_path}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response


def test_sign_in_keeps_the_key_in_an_http_only_strict_cookie(client, admin):
    response = sign_in(client, admin, "/audits/x/review?review=pending")
    assert response.headers["location"] == "/audits/x/review?review=pending"
    cookies = cookies_set(response)
    key_cookie = cookies["labelaudit_key"]["labelaudit_key"]
    assert key_of(admin) not in key_cookie.value, "a signed session token, never the key"
    assert key_of(admin).removeprefix("la_")[:12] not in key_cookie.value
    assert key_cookie["httponly"] and key_cookie["samesite"] == "strict"
    assert not key_cookie["secure"], "plain http: a Secure cookie would never come back"
    csrf_cookie = cookies["labelaudit_csrf"]["labelaudit_csrf"]
    assert len(csrf_cookie.value) >= 32 and not csrf_cookie["httponly"]
    assert csrf_cookie["samesite"] == "strict"
    assert client.get("/audits").status_code == 200, "the cookie authenticates API reads"


def test_cookies_are_secure_over_https(client, admin):
    response = client.post(
        "https://testserver/sign-in", data={"key": key_of(admin)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert all(cookie[name]["secure"] for name, cookie in cookies_set(response).items())


def test_a_wrong_key_shows_the_form_again_with_a_message(client):
    response = client.post("/sign-in", data={"key": "la_wrong", "next": "/"})
    assert response.status_code == 401
    assert "That key is not valid" in response.text and 'name="key"' in response.text
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_site(client, admin, target):
    assert sign_in(client, admin, target).headers["location"] == "/"


def test_sign_in_from_another_origin_is_refused(client, admin):
    response = client.post(
        "/sign-in", data={"key": key_of(admin)}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cross_origin"


def test_cookie_requests_that_change_data_need_the_csrf_token(client, admin, finished_audit):
    sign_in(client, admin)
    decision = {"items": [{"sample_id": "s0", "action": "keep"}]}
    url = f"/audits/{finished_audit}/reviews"

    missing = client.post(url, json=decision)
    assert missing.status_code == 403
    assert set(missing.json()["error"]) == {"code", "message", "details"}
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = client.post(url, json=decision, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf_failed"

    token = client.cookies["labelaudit_csrf"]
    foreign = {"X-CSRF-Token": token, "Origin": "https://evil.example"}
    assert client.post(url, json=decision, headers=foreign).json()["error"]["code"] == (
        "cross_origin"
    )
    same_site = {"X-CSRF-Token": token, "Origin": "http://testserver"}
    response = client.post(url, json=decision, headers=same_site)
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["review"]["reviewed_by"] == "admin-alice"


def test_bearer_requests_need_no_csrf_token(client, reviewer, finished_audit):
    decision = {"items": [{"sample_id": "s1", "action": "accept"}]}
    response = client.post(f"/audits/{finished_audit}/reviews", json=decision, headers=reviewer)
    assert response.status_code == 200, response.text


def test_roles_hold_for_cookie_requests(client, reviewer, finished_audit):
    sign_in(client, reviewer)
    token = {"X-CSRF-Token": client.cookies["labelaudit_csrf"]}
    response = client.post(f"/audits/{finished_audit}/reaudit", json={}, headers=token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_required"
    assert client.delete(f"/audits/{finished_audit}", headers=token).status_code == 403


def test_sign_out_clears_both_cookies(client, admin):
    sign_in(client, admin)
    refused = client.post("/sign-out", data={"csrf_token": "guess"}, follow_redirects=False)
    assert refused.status_code == 403
    response = client.post(
        "/sign-out",
        data={"csrf_token": client.cookies["labelaudit_csrf"]},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    cleared = cookies_set(response)
    assert {name: cookie[name]["max-age"] for name, cookie in cleared.items()} == {
        "labelaudit_key": "0",
        "labelaudit_csrf": "0",
    }
    assert not client.cookies
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    assert client.get("/audits").status_code == 401
