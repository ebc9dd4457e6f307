"""The dashboard's pages: sign-in redirects, security headers, role-dependent controls, and
the same paths still answering JSON to API clients."""

import re
import uuid
from pathlib import Path

import pytest

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def signed_in(client, headers):
    key = headers["Authorization"].removeprefix("Bearer ")
    assert client.post("/sign-in", data={"key": key}, follow_redirects=False).status_code == 303
    return client


def page(client, path):
    response = client.get(path, headers=HTML, follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response


@pytest.mark.parametrize("path", ["/", "/audits/{id}", "/audits/{id}/review?review=done"])
def test_signed_out_pages_redirect_to_sign_in(client, finished_audit, path):
    path = path.format(id=finished_audit)
    response = client.get(path, headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/sign-in?next=")
    sign_in_page = client.get(location, headers=HTML)
    assert sign_in_page.status_code == 200
    assert 'name="next" value="' + path.replace("&", "&amp;") + '"' in sign_in_page.text


def test_a_bad_cookie_redirects_too(client, finished_audit):
    client.cookies.set("labelaudit_key", "la_revoked")
    response = client.get(f"/audits/{finished_audit}", headers=HTML, follow_redirects=False)
    assert response.status_code == 303


def test_api_clients_still_get_json_on_the_pages_paths(client, admin, finished_audit):
    assert client.get(f"/audits/{finished_audit}").json()["error"]["code"] == "missing_key"
    audit = client.get(f"/audits/{finished_audit}", headers=admin).json()
    assert audit["id"] == finished_audit
    assert client.get("/").status_code == 404


def test_pages_send_security_headers_and_no_inline_code(client, admin, finished_audit):
    signed_in(client, admin)
    for path in ("/", f"/audits/{finished_audit}", f"/audits/{finished_audit}/review", "/sign-in"):
        response = page(client, path)
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
        html = response.text
        assert "<style" not in html and not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
        for script in re.findall(r"<script[^>]*>", html):
            assert 'type="module"' in script and "src=" in script
        assert "http://" not in html and "https://" not in html, "no other origins"


def test_names_are_escaped(client, admin, finished_audit):
    signed_in(client, admin)
    html = page(client, f"/audits/{finished_audit}").text
    assert "Bolts &lt;batch 7&gt;" in html and "<batch 7>" not in html


def test_static_files_are_versioned_cached_and_not_sniffed(client, admin):
    signed_in(client, admin)
    html = page(client, "/").text
    (script,) = re.findall(r'src="(/static/[0-9a-f]{12}/js/list\.js)"', html)
    response = client.get(script)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    for stylesheet in re.findall(r'href="(/static/[^"]+\.css)"', html):
        assert client.get(stylesheet).headers["content-type"].startswith("text/css")
    assert client.get(script.replace("list.js", "nope.js")).status_code == 404


def test_reviewers_do_not_see_admin_controls(client, admin, reviewer, finished_audit):
    signed_in(client, admin)
    assert 'id="upload-form"' in page(client, "/").text
    overview = page(client, f"/audits/{finished_audit}").text
    assert 'id="reaudit"' in overview and 'id="delete-audit"' in overview
    assert 'data-role="admin"' in overview

    signed_in(client, reviewer)
    assert 'id="upload-form"' not in page(client, "/").text
    overview = page(client, f"/audits/{finished_audit}").text
    assert 'id="reaudit"' not in overview and 'id="delete-audit"' not in overview
    assert 'data-role="reviewer"' in overview and "reviewer-bob" in overview
    assert 'id="export-suspects"' in overview


def test_upload_form_explains_the_defaults(client, admin):
    signed_in(client, admin)
    html = page(client, "/").text
    assert '<option value="tgce" selected>' in html and '<option value="ce">' in html
    assert 'id="upload-k" name="k"' in html and 'placeholder="automatic"' in html
    assert "k is chosen per class" in html
    assert "40 up to about 10,000 samples" in html


def test_an_unknown_audit_is_a_not_found_page(client, admin):
    signed_in(client, admin)
    response = client.get(f"/audits/{uuid.uuid4()}/review", headers=HTML)
    assert response.status_code == 404 and "Audit not found" in response.text


def test_a_browser_that_lost_its_csrf_cookie_gets_a_new_one(client, admin):
    signed_in(client, admin)
    client.cookies.delete("labelaudit_csrf")
    html = page(client, "/").text
    token = client.cookies["labelaudit_csrf"]
    assert f'name="csrf_token" value="{token}"' in html


def test_the_pages_ask_only_for_thumbnail_sizes_the_server_makes(client, admin, finished_audit):
    from service.thumbnails.service import THUMBNAIL_SIZES

    signed_in(client, admin)
    body = page(client, f"/audits/{finished_audit}/review").text
    sizes = dict(re.findall(r'data-(card|strip)-px="(\d+)"', body))
    assert set(sizes) == {"card", "strip"}
    assert {int(size) for size in sizes.values()} <= set(THUMBNAIL_SIZES)
    # The scripts read them there: none writes a size of its own.
    scripts = Path(__file__).parents[3] / "service" / "dashboard" / "static" / "js"
    for script in scripts.glob("*.js"):
        assert not re.search(r"size=\d", script.read_text()), script.name
