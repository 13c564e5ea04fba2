from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from truss.models import Tenant

ID_SET = "hydra.openid.id-token"
ACCESS_SET = "hydra.jwt.access-token"


@pytest.fixture
def platform_admin(db: None, tenant: Tenant) -> Client:
    user = User.objects.create_superuser(f"root-{uuid.uuid4().hex[:6]}", password="pw-for-tests-123")
    client = Client()
    client.force_login(user)
    return client


def admin_keys(ory: Any, set_id: str) -> list[dict[str, Any]]:
    """Hydra's own admin view of a set, private members included (only the test looks at them)."""
    response = requests.get(f"{ory.hydra_admin_url}/admin/keys/{set_id}", timeout=10)
    return list(response.json()["keys"]) if response.status_code == 200 else []


def published(ory: Any) -> dict[str, Any]:
    return dict(requests.get(f"{ory.hydra_public_url}/.well-known/jwks.json", timeout=10).json())


def verify(ory: Any, token: str, audience: str) -> dict[str, Any]:
    """Verify against the JWKS as published right now (no cache), with the algorithm the header names."""
    header = jwt.get_unverified_header(token)
    keys = {k["kid"]: k for k in published(ory)["keys"]}
    if header["kid"] not in keys:
        raise jwt.InvalidKeyError(f"kid {header['kid']} is not published")
    key = jwt.PyJWK(keys[header["kid"]], algorithm=header["alg"])
    return dict(jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience))


@pytest.fixture
def id_tokens(browser_for: Any, make_app: Any, make_identity: Any) -> Callable[[], str]:
    """ID tokens on demand: one sign-in with remembered consent, then straight through Hydra each time."""
    person = make_identity()
    app = make_app()
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"])
    browser.answer_consent(browser.sign_in(login_page, person["email"], person["password"]), remember=True)

    def issue() -> str:
        auth, again = browser.authorize(app["client_id"])
        code = browser.callback(again)["code"]
        return str(browser.tokens(app["client_id"], code, auth)["id_token"])

    issue.client_id = app["client_id"]  # type: ignore[attr-defined]
    return issue


@pytest.fixture
def restore_rs256_signer(ory: Any) -> Iterator[None]:
    """Tests here change which key signs ID tokens for the whole session; other tests verify RS256 tokens.
    Afterwards an RS256 key signs again and the keys the test added are gone."""
    before = {k["kid"] for k in admin_keys(ory, ID_SET)}
    yield
    time.sleep(1.1)  # created_at has second resolution: the restored key must be the newest
    kid = f"restore-{uuid.uuid4().hex[:8]}"
    requests.post(
        f"{ory.hydra_admin_url}/admin/keys/{ID_SET}",
        json={"alg": "RS256", "use": "sig", "kid": kid},
        timeout=60,
    )
    for key in admin_keys(ory, ID_SET):
        if key["kid"] not in before and key["kid"] != kid:
            requests.delete(f"{ory.hydra_admin_url}/admin/keys/{ID_SET}/{key['kid']}", timeout=10)


@pytest.fixture
def lone_access_signer(ory: Any) -> Iterator[str]:
    """The kid of the one private key hydra.jwt.access-token holds during the test (Hydra's signer; one is made
    if there is none). Other private keys are set aside; afterwards the keys the test added go and the set-aside
    ones come back, the signer last (Hydra's PUT makes a key the newest row, and the newest private key signs)."""
    url = f"{ory.hydra_admin_url}/admin/keys/{ACCESS_SET}"
    if not any("d" in k for k in admin_keys(ory, ACCESS_SET)):
        kid = f"lone-{uuid.uuid4().hex[:8]}"
        made = requests.post(url, json={"alg": "RS256", "use": "sig", "kid": kid}, timeout=60)
        assert made.status_code == 201, made.text
    before = admin_keys(ory, ACCESS_SET)
    signer, *aside = [k for k in before if "d" in k]  # Hydra's order: newest first
    for key in aside:
        assert requests.delete(f"{url}/{key['kid']}", timeout=10).status_code == 204
    yield signer["kid"]
    kept = {k["kid"] for k in before}
    for key in admin_keys(ory, ACCESS_SET):
        if key["kid"] not in kept:
            requests.delete(f"{url}/{key['kid']}", timeout=10)
    now = {k["kid"] for k in admin_keys(ory, ACCESS_SET)}
    if aside or signer["kid"] not in now:
        for key in [*reversed(aside), signer]:
            time.sleep(1.1)  # created_at has second resolution: each key put back is newer than the last
            assert requests.put(f"{url}/{key['kid']}", json=key, timeout=10).status_code == 200
