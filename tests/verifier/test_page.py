"""``GET/POST /verify``: the employer-facing HTML page, over real HTTP, without a browser."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from keys import jwk, sd_jwt
from keys.signing import KeySigner
from tests.verifier.conftest import Live
from verifier.page import CHECK_LABELS, STATUS_LABELS, plain_text


class Page(HTMLParser):
    """What the tests look at: labels, form controls, headings, check lines, inline styles."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.labels: dict[str, str] = {}  # for= -> label text
        self.controls: list[dict[str, str | None]] = []
        self.headings: list[tuple[int, str]] = []
        self.checks: list[dict[str, str]] = []
        self.links: list[dict[str, str | None]] = []
        self.styles: list[str] = []
        self.scripts = 0
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag in ("input", "textarea", "select"):
            self.controls.append({"tag": tag, **attributes})
        if tag == "a":
            self.links.append(attributes)
        if tag == "script":
            self.scripts += 1
        if tag in ("label", "li", "style", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._open.append((tag, attributes, []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            return
        _, attributes, parts = self._open.pop()
        text = " ".join("".join(parts).split())
        if tag == "label":
            self.labels[str(attributes.get("for"))] = text
        elif tag == "style":
            self.styles.append("".join(parts))
        elif tag == "li" and "data-check" in attributes:
            self.checks.append(
                {
                    "id": str(attributes["data-check"]),
                    "status": str(attributes["data-status"]),
                    "text": text,
                }
            )
        elif tag.startswith("h"):
            self.headings.append((int(tag[1]), text))

    @property
    def verdict(self) -> str:
        return next(text for level, text in self.headings if level == 2 and "erified" in text)


def _post(live: Live, **kwargs: Any) -> httpx.Response:
    return live.http.post("/verify", **kwargs)


def _paste(live: Live, credential: Any, **options: str) -> httpx.Response:
    text = credential if isinstance(credential, str) else json.dumps(credential)
    # An empty file input still sends a part: a browser's form always carries it.
    return _post(
        live,
        data={"credential": text, **options},
        files={"file": ("", b"", "application/octet-stream")},
    )


def _api_report(live: Live, credential: Any) -> dict[str, Any]:
    response = live.http.post("/verifier/verify", json={"credential": credential})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _assert_secure_html(response: httpx.Response) -> Page:
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = {
        d.split()[0]: d.split()[1:] for d in response.headers["content-security-policy"].split("; ")
    }
    assert csp["default-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert "script-src" not in csp  # default-src 'none': no script at all
    page = Page(response.text)
    assert page.scripts == 0
    # Every inline style is allowed by its hash, and nothing else is.
    assert page.styles
    for style in page.styles:
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["style-src"]
    assert "'unsafe-inline'" not in csp["style-src"]
    return page


def test_form_renders_with_labels_and_landmarks(live: Live) -> None:
    response = live.http.get("/verify")
    assert response.status_code == 200
    page = _assert_secure_html(response)
    assert page.lang == "en"
    assert page.labels["credential"] == "Credential (JSON, JWT or SD-JWT)"
    for control in page.controls:
        assert control["id"] in page.labels, f"{control} has no label"
        assert control["name"] in (
            *("credential", "file", "link"),
            *("challenge", "domain", "nonce", "audience"),
        )
    assert {c["name"] for c in page.controls} == {
        "credential",
        "file",
        "link",
        "challenge",
        "domain",
        "nonce",
        "audience",
    }
    assert page.links[0] == {"class": "skip", "href": "#main"}
    assert 'id="main"' in response.text
    assert [level for level, _ in page.headings][:2] == [1, 2]
    assert page.headings[0] == (1, "Verify a learning credential")
    assert '<form method="post" action="/verify#result" enctype="multipart/form-data">' in (
        response.text
    )
    assert re.search(r"<details>\s*<summary>Advanced", response.text)


def test_valid_credential_is_verified_with_every_check_in_plain_words(live: Live) -> None:
    issued = live.issue(["ob3-di", "ob3-jwt"])
    for fmt, credential in issued["formats"].items():
        expected = _api_report(live, credential)
        assert expected["verified"] is True
        response = _paste(live, credential)
        assert response.status_code == 200, response.text
        page = _assert_secure_html(response)
        assert page.verdict == "✓ Verified", fmt
        assert "<title>Verified -" in response.text
        assert "Introduction to Data Science" in response.text
        assert expected["issuer"]["id"] in response.text
        assert "Live University" in response.text
        assert "A hashed email address (ask the holder for it and compare)" in response.text
        # Every check of the API's report is a line: human label, status, message.
        assert [(c["id"], c["status"]) for c in page.checks] == [
            (c["id"], c["status"]) for c in expected["checks"]
        ]
        for line, check in zip(page.checks, expected["checks"], strict=True):
            label = CHECK_LABELS[check["id"]]
            status = STATUS_LABELS[check["status"]][0]
            assert f"{label}: {status}" in line["text"]
            assert " ".join(check["message"].split()) in line["text"]
        labels = [line["text"].split(":")[0] for line in page.checks]
        assert {"Signature", "Issuer's key", "Validity period", "Revocation status"} <= {
            label.lstrip("✓\u2013! ") for label in labels
        }


def test_revoked_credential_is_not_verified_and_says_why(live: Live) -> None:
    issued = live.issue(["ob3-di"])
    credential = issued["formats"]["ob3-di"]
    revoked = live.http.post(
        f"/issuers/live/credentials/{issued['id']}/revoke", headers=live.issuing
    )
    assert revoked.status_code == 200
    live.forget()
    expected = {c["id"]: c for c in _api_report(live, credential)["checks"]}
    assert expected["status"]["status"] == "failed"
    response = _paste(live, credential)
    assert response.status_code == 200
    page = _assert_secure_html(response)
    assert page.verdict == "✗ Not verified"
    assert "<title>Not verified -" in response.text
    status = next(c for c in page.checks if c["id"] == "status")
    assert status["status"] == "failed"
    assert "Revocation status: Failed" in status["text"]
    assert " ".join(expected["status"]["message"].split()) in status["text"]
    assert "revoked" in status["text"].lower()


def test_uploaded_files_verify_and_the_file_wins_over_an_empty_box(live: Live) -> None:
    issued = live.issue(["ob3-di", "ob3-jwt"])
    png = live.http.get(f"/issuers/live/credentials/{issued['id']}/image.png", headers=live.issuing)
    assert png.status_code == 200
    uploads = {
        "badge.png": (png.content, "image/png"),
        "credential.json": (json.dumps(issued["formats"]["ob3-di"]).encode(), "application/json"),
        "credential.jwt": (issued["formats"]["ob3-jwt"].encode(), "text/plain"),
    }
    for name, (content, media_type) in uploads.items():
        response = _post(live, data={"credential": ""}, files={"file": (name, content, media_type)})
        assert response.status_code == 200, response.text
        page = Page(response.text)
        assert page.verdict == "✓ Verified", (name, page.checks)
        assert f"Verified from the file <code>{name}</code>" in response.text
    baked = _post(live, files={"file": ("badge.png", png.content, "image/png")})
    assert "The credential was extracted from a baked PNG badge." in baked.text


def test_a_clr_shows_its_credentials_collapsed(live: Live) -> None:
    live.issue(["ob3-di"])
    clr = live.http.post(
        "/issuers/live/clr",
        headers=live.issuing,
        json={"recipient": {"email": "learner@example.fi"}, "name": "Studies"},
    )
    assert clr.status_code == 200, clr.text
    response = _paste(live, clr.json())
    assert response.status_code == 200
    page = Page(response.text)
    assert page.verdict == "✓ Verified", page.checks
    nested = next(c for c in page.checks if c["id"] == "nested")
    assert "Included credentials: Passed" in nested["text"]
    # Each member is its own report, inside a closed <details>, a heading level below.
    assert re.search(
        r'<details class="nested">\s*<summary>Included credential 1: Verified: '
        r"Introduction to Data Science</summary>",
        response.text,
    )
    assert (4, "✓ Verified") in page.headings
    member_checks = [c for c in page.checks if c["id"] == "proof"]
    assert len(member_checks) == 2 and all(c["status"] == "passed" for c in member_checks)


def test_html_in_a_credential_is_escaped(live: Live) -> None:
    credential = live.issue(["ob3-di"])["formats"]["ob3-di"]
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    credential["credentialSubject"]["achievement"]["name"] = attack
    if isinstance(credential["issuer"], dict):
        credential["issuer"]["name"] = attack
    response = _paste(live, credential)
    assert response.status_code == 200
    page = _assert_secure_html(response)
    assert page.scripts == 0
    assert "<script>" not in response.text
    assert "<img" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    assert page.verdict == "✗ Not verified"  # the tampered name breaks the signature
    assert next(c for c in page.checks if c["id"] == "proof")["status"] == "failed"


def test_bad_input_renders_failed_checks_never_a_500(live: Live) -> None:
    for text in ("hello", "{not json", "a.b.c", "x~y~", "<svg></svg>", "[1, 2]"):
        response = _paste(live, text)
        assert response.status_code == 200, (text, response.text)
        page = _assert_secure_html(response)
        assert page.verdict == "✗ Not verified", text
        assert any(c["status"] == "failed" for c in page.checks), text
        if text not in ("a.b.c", "x~y~"):  # a JWT / SD-JWT shape passes format, then fails
            assert page.checks[0]["id"] == "format" and page.checks[0]["status"] == "failed"
            assert "Format: Failed" in page.checks[0]["text"]


def test_empty_submission_re_renders_with_a_helpful_error(live: Live) -> None:
    for kwargs in (
        {"data": {"credential": "   \n"}, "files": {"file": ("", b"", "application/octet-stream")}},
        {"data": {"nonce": "n-1"}, "files": {"file": ("", b"", "application/octet-stream")}},
    ):
        response = _post(live, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 422
        page = _assert_secure_html(response)
        assert 'role="alert"' in response.text
        assert "Nothing to verify yet: paste a credential" in response.text
        assert not page.checks
        assert 'aria-invalid="true"' in response.text
    # The advanced fields keep what was typed, and their section stays open.
    assert re.search(r"<details open>", response.text)
    assert 'id="nonce" name="nonce" autocomplete="off" value="n-1"' in response.text


def test_presentation_options_reach_the_verifier(live: Live) -> None:
    holder = jwk.generate("p256")
    issued = live.issue(["sd-jwt-vc"], holder_jwk=holder.public_key().to_jwk())
    presentation = sd_jwt.present(
        issued["formats"]["sd-jwt-vc"],
        reveal=["/achievement/name"],
        holder=KeySigner.for_key(holder),
        nonce="n-1",
        audience="https://employer.example",
        iat=datetime.now(UTC),
    )
    good = Page(_paste(live, presentation, nonce="n-1", audience="https://employer.example").text)
    assert good.verdict == "✓ Verified", good.checks
    binding = next(c for c in good.checks if c["id"] == "holder_binding")
    assert binding["status"] == "passed" and "Holder binding: Passed" in binding["text"]
    stale = Page(_paste(live, presentation, nonce="n-2", audience="https://employer.example").text)
    assert stale.verdict == "✗ Not verified"
    binding = next(c for c in stale.checks if c["id"] == "holder_binding")
    assert binding["status"] == "failed" and "Holder binding: Failed" in binding["text"]


def test_a_huge_paste_gets_the_body_limit(live: Live) -> None:
    response = _paste(live, "x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Plain", "Plain"),
        ({"en": "English", "fi": "Suomi"}, "English"),
        ({"fi": "Suomi"}, "Suomi"),
        ({"@value": "Value", "@language": "en"}, "Value"),
        ([{"@value": "First"}, "Second"], "First"),
        (None, None),
        (5, "5"),
    ],
)
def test_plain_text_of_names(value: Any, text: str | None) -> None:
    assert plain_text(value) == text


# --- links: a share link or a credential's address ---------------------------------------------


class _Served:
    """A loopback HTTP server (not Taito) holding documents at fixed paths."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = documents.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *_: Any) -> None:
                pass

        import threading

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_link_to_a_credential_is_fetched_and_verified(live: Live) -> None:
    credential = live.issue(["ob3-di"])["formats"]["ob3-di"]
    served = _Served({"/badge.json": json.dumps(credential).encode()})
    try:
        response = live.http.get("/verify", params={"link": f"{served.base}/badge.json"})
        assert response.status_code == 200, response.text
        page = _assert_secure_html(response)
        assert page.verdict == "✓ Verified"
        assert f"Verified from the link <code>{served.base}/badge.json</code>" in response.text
        by_form = _post(
            live,
            data={"credential": "", "link": f"{served.base}/badge.json"},
            files={"file": ("", b"", "application/octet-stream")},
        )
        assert Page(by_form.text).verdict == "✓ Verified"
    finally:
        served.close()


def test_a_share_link_with_several_credentials_reports_each(live: Live) -> None:
    good = live.issue(["ob3-di"])
    bad = live.issue(["ob3-jwt"])
    assert (
        live.http.post(
            f"/issuers/live/credentials/{bad['id']}/revoke", headers=live.issuing
        ).status_code
        == 200
    )
    live.forget()
    shared = {
        "credentials": [
            {"credential": good["formats"]["ob3-di"]},
            {"credential": bad["formats"]["ob3-jwt"]},
        ]
    }
    served = _Served({"/s/token": json.dumps(shared).encode()})
    try:
        response = live.http.get("/verify", params={"link": f"{served.base}/s/token"})
        assert response.status_code == 200, response.text
        page = _assert_secure_html(response)
        assert page.verdict == "✗ Not verified"
        assert "1 of 2 shared credentials did not verify." in response.text
        assert response.text.count('<details class="nested"') == 2
    finally:
        served.close()


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("file:///etc/passwd", "could not be opened"),
        ("http://127.0.0.1:9/nothing-listens-here", "could not be opened"),
        ("not a url at all", "could not be opened"),
    ],
)
def test_a_link_that_cannot_be_opened_is_a_plain_error(live: Live, link: str, reason: str) -> None:
    response = live.http.get("/verify", params={"link": link})
    assert response.status_code == 422
    page = _assert_secure_html(response)
    assert reason in response.text
    assert page.scripts == 0
