"""A cookie-jar "browser" for HTTP-level OAuth flows: Hydra → bridge → Kratos → bridge → Hydra → callback.

Every hop is one request with redirects off, so tests can stop, inspect and tamper at any hop. Everything is
on 127.0.0.1 (different ports), so Kratos's, Hydra's and Truss's cookies share the jar like in a browser.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import requests

# Nothing listens here (outside Linux's ephemeral port range, and not one of Chromium's blocked ports): the
# flow stops before it, or the browser tests serve it through a Playwright route.
CALLBACK = "http://127.0.0.1:65531/callback"


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, list[tuple[str, bool, bool]]] = field(
        default_factory=dict
    )  # name -> (value, checked, disabled)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append(HtmlForm(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            form = self.forms[-1]
            if a.get("type") == "checkbox":
                form.checkboxes.setdefault(a["name"], []).append(
                    (a.get("value", "on"), "checked" in a, "disabled" in a)
                )
            elif a.get("type") == "submit":
                form.buttons.append((a.get("name", ""), a.get("value", "")))
            elif "name" in a:
                form.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("type", "submit") == "submit":
            self.forms[-1].buttons.append((a.get("name", ""), a.get("value", "")))


def forms(html: str) -> list[HtmlForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Authorization:
    verifier: str
    state: str
    nonce: str


class Browser:
    def __init__(self, ory: Any, accept_language: str = "en") -> None:
        self.ory = ory
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = accept_language
        self.history: list[str] = []

    # --- hops ----------------------------------------------------------------------------------------------

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.history.append(url)
        return self.session.get(url, allow_redirects=False, timeout=10, **kwargs)

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
        self.history.append(url)
        return self.session.post(url, data=data, allow_redirects=False, timeout=10, **kwargs)

    def follow(
        self, response: requests.Response, *, until: str = CALLBACK, max_hops: int = 15
    ) -> requests.Response:
        """Follow redirects until a page (non-redirect) or a redirect to ``until`` (the client callback)."""
        for _ in range(max_hops):
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307) or not location:
                return response
            target = urljoin(response.url, location)
            if target.startswith(until):
                return response
            response = self.get(target)
        raise AssertionError(f"redirect loop: {self.history[-max_hops:]}")

    # --- OAuth steps ---------------------------------------------------------------------------------------

    def authorize(
        self, client_id: str, scope: str = "openid email profile", **extra: str
    ) -> tuple[Authorization, requests.Response]:
        auth = Authorization(secrets.token_urlsafe(48), secrets.token_urlsafe(12), secrets.token_urlsafe(12))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(auth.verifier.encode()).digest()).rstrip(b"=").decode()
        )
        params = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "scope": scope,
            "state": auth.state,
            "nonce": auth.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        response = self.get(f"{self.ory.hydra_public_url}/oauth2/auth", params=params)
        return auth, self.follow(response)

    def sign_in(self, page: requests.Response, email: str, password: str) -> requests.Response:
        """Fill Truss's rendered Kratos login form and submit it to Kratos, as a browser would."""
        assert page.status_code == 200, (page.status_code, page.url)
        form = forms(page.text)[0]
        data = {**form.fields, "identifier": email, "password": password, "method": "password"}
        return self.follow(self.post(form.action, data))

    def answer_consent(
        self,
        page: requests.Response,
        action: str = "accept",
        remember: bool = False,
        untick: tuple[str, ...] = (),
    ) -> requests.Response:
        form = next(f for f in forms(page.text) if ("action", "accept") in f.buttons)
        data: dict[str, Any] = {**form.fields, "action": action}
        data["scopes"] = [
            v
            for v, checked, disabled in form.checkboxes.get("scopes", [])
            if checked and not disabled and v not in untick
        ]
        if remember:
            data["remember"] = "on"
        return self.follow(self.post(urljoin(page.url, form.action), data))

    def callback(self, response: requests.Response) -> dict[str, str]:
        location = response.headers.get("Location", "")
        assert location.startswith(CALLBACK), (response.status_code, location, response.url)
        return query(location)

    def tokens(self, client_id: str, code: str, auth: Authorization) -> dict[str, Any]:
        response = requests.post(
            f"{self.ory.hydra_public_url}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": client_id,
                "code_verifier": auth.verifier,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def kratos_session(self) -> requests.Response:
        return self.session.get(f"{self.ory.kratos_public_url}/sessions/whoami", timeout=10)


def verify_id_token(ory: Any, id_token: str, client_id: str, nonce: str) -> dict[str, Any]:
    """Check the signature against Hydra's published JWKS, plus audience, issuer and nonce."""
    issuer = requests.get(f"{ory.hydra_public_url}/.well-known/openid-configuration", timeout=10).json()[
        "issuer"
    ]
    keys = jwt.PyJWKClient(f"{ory.hydra_public_url}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(id_token)
    claims = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=client_id, issuer=issuer)
    assert claims["nonce"] == nonce
    return dict(claims)
