"""The dashboard's sign-in against a hostile browser: planted CSRF cookies, stolen cookies after
sign-out, junk cookies and form values, and cookies/HSTS when reached over HTTPS via a trusted proxy."""

from __future__ import annotations

import re
import time
from http.cookies import SimpleCookie
from typing import Any, Dict, Iterator, List

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notebook_error_reporter.serverside import sign_ins
from notebook_error_reporter.serverside.colab_ranges import parse_networks
from notebook_error_reporter.serverside.core.addresses import reached_over_https
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.crud.server_secrets import server_secret
from notebook_error_reporter.serverside.pages.deps import ADMIN_COOKIE, CSRF_COOKIE

from .helpers import ADMIN_TOKEN, MakeClient, make_event
from .live_server import LiveServer, server_on_fresh_database

HTML = {"Accept": "text/html"}
CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
PLANTED = "0123456789abcdef0123456789abcdef"
PROXY = "10.0.0.2"
FROM_HTTPS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def csrf_of(page_html: str) -> str:
    found = CSRF_FIELD.search(page_html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient) -> None:
    form = client.get("/signin")
    answer = client.post(
        "/signin",
        data={"token": ADMIN_TOKEN, "csrf": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def an_issue(client: TestClient) -> int:
    answer = client.post("/api/v1/events", json=make_event())
    assert answer.status_code == 201, answer.text
    return int(answer.json()["issue_id"])


def resolve(client: TestClient, issue_id: int, csrf: str) -> int:
    data = {"status": "resolved", "csrf": csrf}
    return client.post(f"/issues/{issue_id}/status", data=data, follow_redirects=False).status_code


def plant(client: TestClient, name: str, value: str) -> None:
    """Put a cookie in the browser as if the server (or a page on a sibling host) had set it."""
    client.cookies.set(name, value, domain="testserver.local")


def set_cookies(answer: Any) -> Dict[str, str]:
    """Each ``Set-Cookie`` of an answer by cookie name, with its attributes as sent."""
    return {header.split("=", 1)[0]: header for header in answer.headers.get_list("set-cookie")}


# --- CSRF bound to the sign-in ---------------------------------------------------------------------------


def test_a_planted_csrf_cookie_before_sign_in_gives_the_attacker_no_valid_token(
    make_client: MakeClient,
) -> None:
    attacker, victim = make_client(), make_client()
    issue_id = an_issue(victim)
    plant(attacker, CSRF_COOKIE, PLANTED)
    attackers_token = csrf_of(attacker.get("/signin").text)
    plant(victim, CSRF_COOKIE, PLANTED)  # a sibling page set it in the victim's browser
    sign_in(victim)
    assert victim.cookies.get(CSRF_COOKIE) != PLANTED, "signing in renews the nonce"
    assert resolve(victim, issue_id, attackers_token) == 403
    own = csrf_of(victim.get(f"/issues/{issue_id}", headers=HTML).text)
    assert resolve(victim, issue_id, own) == 303


def test_a_nonce_planted_after_sign_in_is_not_signed_for_the_attacker(make_client: MakeClient) -> None:
    attacker, victim = make_client(), make_client()
    issue_id = an_issue(victim)
    sign_in(victim)
    plant(attacker, CSRF_COOKIE, PLANTED)
    attackers_token = csrf_of(attacker.get("/signin").text)
    plant(victim, CSRF_COOKIE, PLANTED)
    assert resolve(victim, issue_id, attackers_token) == 403


# --- sign-out ends the sign-in on the server ------------------------------------------------------------


def test_signing_out_ends_the_sign_in_for_every_copy_of_its_cookie(make_client: MakeClient) -> None:
    browser, thief = make_client(), make_client()
    sign_in(browser)
    stolen = browser.cookies[ADMIN_COOKIE]
    plant(thief, ADMIN_COOKIE, stolen)
    assert thief.get("/issues", follow_redirects=False).status_code == 200
    page = browser.get("/", headers=HTML)
    assert (
        browser.post("/signout", data={"csrf": csrf_of(page.text)}, follow_redirects=False).status_code == 303
    )
    assert thief.get("/issues", follow_redirects=False).status_code == 303
    after_restart = make_client()  # another worker, or the server started again: same database
    plant(after_restart, ADMIN_COOKIE, stolen)
    assert after_restart.get("/issues", follow_redirects=False).status_code == 303


def test_a_sign_in_works_in_every_worker_and_one_sign_out_leaves_the_others(make_client: MakeClient) -> None:
    laptop, phone = make_client(), make_client()
    sign_in(laptop)
    sign_in(phone)
    other_worker = make_client()
    plant(other_worker, ADMIN_COOKIE, phone.cookies[ADMIN_COOKIE])
    assert other_worker.get("/issues", follow_redirects=False).status_code == 200
    page = laptop.get("/", headers=HTML)
    laptop.post("/signout", data={"csrf": csrf_of(page.text)})
    assert laptop.get("/issues", follow_redirects=False).status_code == 303
    assert phone.get("/issues", follow_redirects=False).status_code == 200


# --- junk cookies and form values: the sign-in page or 403, never a 500 (a real server: raw header bytes) ---


@pytest.fixture(scope="module")
def junk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with server_on_fresh_database(tmp_path_factory.mktemp("junk")) as server:
        yield server


def send(server: LiveServer, method: str, path: str, cookie: str, form: Dict[str, str]) -> httpx.Response:
    """A request whose Cookie header is these exact bytes (a server reads header bytes as latin-1)."""
    headers = {"Cookie": cookie.encode("latin-1"), **HTML}
    return httpx.request(
        method,
        server.url(path),
        headers=headers,
        data=form or None,
        timeout=30,
        follow_redirects=False,  # type: ignore[arg-type]
    )


NOW = int(time.time())
ACCENTS = "\u00e9" * 64


@pytest.mark.parametrize(
    ("cookie", "form"),
    [
        (f"ner_admin=v1.{NOW}.\u00e9\u00e9", {}),  # non-ASCII where the MAC goes
        ("ner_admin=v1.\u00b2.x", {}),  # a digit that int() refuses
        (f"ner_admin=v2.{NOW}.0123456789abcdef0123456789abcdef.{ACCENTS}", {}),
        ("ner_csrf=\u00e9", {"csrf": "\u00e9"}),
        ("ner_csrf=0123456789abcdef0123456789abcdef", {"csrf": ACCENTS}),
    ],
)
def test_the_reported_junk_is_refused_without_a_500(
    junk_server: LiveServer, cookie: str, form: Dict[str, str]
) -> None:
    before = junk_server.log()
    assert send(junk_server, "GET", "/issues", cookie, {}).status_code == 303
    posted = send(junk_server, "POST", "/signin", cookie, {"token": ADMIN_TOKEN, **form})
    assert posted.status_code == 403 and "expired" in posted.text
    assert send(junk_server, "POST", "/signout", cookie, form).status_code == 403
    assert junk_server.log() == before, "a refused request is not worth a log line at this level"


COOKIE_TEXT = st.text(
    # every byte a server reads as latin-1 that HTTP allows in a header value (no controls)
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, blacklist_characters=";\x7f"),
    max_size=120,
)
FORM_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=150)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    admin_cookie=st.one_of(COOKIE_TEXT, st.builds(lambda a, b: f"v2.{a}.{b}", COOKIE_TEXT, COOKIE_TEXT)),
    csrf_cookie=COOKIE_TEXT,
    csrf_field=FORM_TEXT,
    token_field=FORM_TEXT,
    path=st.sampled_from(["/signin", "/signout", "/issues/1/status"]),
)
def test_any_cookie_or_form_value_gets_a_page_or_403_never_a_500(
    junk_server: LiveServer, admin_cookie: str, csrf_cookie: str, csrf_field: str, token_field: str, path: str
) -> None:
    cookie = f"{ADMIN_COOKIE}={admin_cookie}; {CSRF_COOKIE}={csrf_cookie}"
    assert send(junk_server, "GET", "/issues", cookie, {}).status_code == 303
    data = {"csrf": csrf_field, "token": token_field, "status": "resolved"}
    answer = send(junk_server, "POST", path, cookie, data)
    assert answer.status_code in (403, 422) and "Traceback" not in answer.text


def test_the_fuzzed_server_logged_no_error(junk_server: LiveServer) -> None:
    assert "Traceback" not in junk_server.log() and "ERROR" not in junk_server.log()


# --- HTTPS through a trusted proxy: __Host- cookies, Secure, HSTS ------------------------------------------


def test_behind_a_trusted_https_proxy_cookies_are_secure_host_cookies_with_hsts(
    make_client: MakeClient,
) -> None:
    client = make_client(client=(PROXY, 40000), trusted_proxies=(PROXY + "/32",))
    form = client.get("/signin", headers=FROM_HTTPS_PROXY)
    assert form.headers["strict-transport-security"].startswith("max-age=")
    nonce_cookie = set_cookies(form)["__Host-" + CSRF_COOKIE]
    assert "Secure" in nonce_cookie and "Path=/" in nonce_cookie and "Domain" not in nonce_cookie
    nonce = SimpleCookie(nonce_cookie)["__Host-" + CSRF_COOKIE].value
    client.cookies.clear()
    headers = {**FROM_HTTPS_PROXY, "Cookie": f"__Host-{CSRF_COOKIE}={nonce}"}
    data = {"token": ADMIN_TOKEN, "csrf": csrf_of(form.text), "next": "/issues"}
    answer = client.post("/signin", headers=headers, data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookies = set_cookies(answer)
    admin_cookie = cookies["__Host-" + ADMIN_COOKIE]
    assert "Secure" in admin_cookie and "HttpOnly" in admin_cookie and "SameSite=strict" in admin_cookie
    admin = SimpleCookie(admin_cookie)["__Host-" + ADMIN_COOKIE].value
    client.cookies.clear()
    signed_in = {**FROM_HTTPS_PROXY, "Cookie": f"__Host-{ADMIN_COOKIE}={admin}"}
    assert client.get("/issues", headers=signed_in, follow_redirects=False).status_code == 200
    plain_name = {**FROM_HTTPS_PROXY, "Cookie": f"{ADMIN_COOKIE}={admin}"}
    assert client.get("/issues", headers=plain_name, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("peer", "trusted", "headers"),
    [
        ("127.0.0.1", (), {"X-Forwarded-Proto": "https"}),  # a client saying https itself
        (PROXY, (PROXY + "/32",), {"X-Forwarded-Proto": "http"}),  # the proxy saying http
        (PROXY, (PROXY + "/32",), {}),
    ],
)
def test_plain_http_gets_plain_cookies_and_no_hsts(
    make_client: MakeClient, peer: str, trusted: List[str], headers: Dict[str, str]
) -> None:
    client = make_client(client=(peer, 40000), trusted_proxies=trusted)
    form = client.get("/signin", headers=headers)
    assert "strict-transport-security" not in form.headers
    nonce_cookie = set_cookies(form)[CSRF_COOKIE]
    assert "Secure" not in nonce_cookie


def test_direct_tls_counts_as_https(make_client: MakeClient) -> None:
    client = make_client()
    client.base_url = client.base_url.copy_with(scheme="https")
    form = client.get("/signin")
    assert "Secure" in set_cookies(form)["__Host-" + CSRF_COOKIE]
    assert "strict-transport-security" in form.headers


def test_only_a_trusted_proxy_nearest_us_says_whether_the_client_used_https() -> None:
    trusted = parse_networks(("10.0.0.0/8",))
    assert reached_over_https("http", PROXY, ["http, https"], trusted)
    assert reached_over_https("http", PROXY, ["HTTPS"], trusted)
    assert not reached_over_https("http", PROXY, ["https, http"], trusted)
    assert not reached_over_https("http", "203.0.113.9", ["https"], trusted)
    assert not reached_over_https("http", PROXY, ["https"], ())
    assert reached_over_https("https", None, [], ())


def test_sign_ins_past_their_age_are_forgotten_and_other_secrets_kept(database: Database) -> None:
    old, new = "a" * 32, "b" * 32
    with database.write_session() as session:
        key = server_secret(session=session, name="address_hash_key", make=lambda: "00" * 32)
        sign_ins.start(session, old, issued=1000, expired_before=0)
        sign_ins.start(session, new, issued=900_000, expired_before=2000)
        assert not sign_ins.is_live(session, old) and sign_ins.is_live(session, new)
        sign_ins.end(session, new)
        assert not sign_ins.is_live(session, new)
        assert server_secret(session=session, name="address_hash_key", make=lambda: "11" * 32) == key
