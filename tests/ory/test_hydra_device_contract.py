"""Contract tests for the Hydra client's device-flow calls (RFC 8628, Hydra >= v25.4).

CI runs the pinned Hydra v2.3.0, which has no device flow, so these fakes stand in for a newer Hydra. To keep
them honest, every fake answer and every request Truss sends is validated against Hydra v26.2.0's own OpenAPI
document (tests/ory/specs/hydra-v26.2.0.json, copied from Ory's release): a fake that drifts from the real API
fails here, not in production. The real-binary tests are marked `device_flow` and run with HYDRA_BIN.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import responses

from truss.ory import hydra

ADMIN = "http://hydra.test:4445"
PUBLIC = "http://hydra.test:4444"
SPEC_PATH = Path(__file__).parent / "specs" / "hydra-v26.2.0.json"


@functools.cache
def spec() -> dict[str, Any]:
    return dict(json.loads(SPEC_PATH.read_text()))


def assert_matches(schema_name: str, value: Any) -> None:
    """Validate ``value`` against components.schemas[schema_name] of the v26.2.0 spec ($refs resolved)."""
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": spec()["components"]}
    jsonschema.validate(value, root)


def operation(method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = spec()["paths"][path][method.lower()]
    return op


def response_schema(method: str, path: str, status: str) -> str:
    ref: str = operation(method, path)["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


@pytest.fixture(autouse=True)
def hydra_settings(settings: Any) -> None:
    settings.HYDRA_ADMIN_URL = ADMIN
    settings.HYDRA_PUBLIC_URL = PUBLIC
    settings.HYDRA_TIMEOUT = 0.5


DEVICE_AUTH = {
    "device_code": "ory_dc_abc.def",
    "user_code": "WDJBMJHT",
    "verification_uri": f"{PUBLIC}/oauth2/device/verify",
    "verification_uri_complete": f"{PUBLIC}/oauth2/device/verify?user_code=WDJBMJHT",
    "expires_in": 600,
    "interval": 5,
}


def test_it_keeps_its_fakes_true_to_the_v26_spec() -> None:
    assert_matches(response_schema("POST", "/oauth2/device/auth", "200"), DEVICE_AUTH)
    assert_matches(
        response_schema("PUT", "/admin/oauth2/auth/requests/device/accept", "200"), {"redirect_to": "x"}
    )
    with pytest.raises(jsonschema.ValidationError):
        assert_matches("deviceAuthorization", {**DEVICE_AUTH, "expires_in": "600"})


def test_it_starts_a_device_flow_the_way_the_spec_describes(rsps: responses.RequestsMock) -> None:
    assert "post" in spec()["paths"]["/oauth2/device/auth"]
    rsps.post(f"{PUBLIC}/oauth2/device/auth", json=DEVICE_AUTH)
    started = hydra.device_authorization("tv-app", scope="openid offline_access", client_secret="s3cret")
    assert started.user_code == "WDJBMJHT" and started.interval == 5 and started.expires_in == 600
    sent = rsps.calls[0].request
    form = parse_qs(str(sent.body))
    assert form == {"client_id": ["tv-app"], "scope": ["openid offline_access"]}
    assert sent.headers["Authorization"].startswith("Basic ")


def test_it_accepts_a_user_code_with_the_documented_parameter_and_body(rsps: responses.RequestsMock) -> None:
    path = "/admin/oauth2/auth/requests/device/accept"
    params = {p["name"]: p for p in operation("PUT", path)["parameters"]}
    assert params["device_challenge"]["in"] == "query" and params["device_challenge"]["required"]
    body_ref = operation("PUT", path)["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    # Hydra v26 adds a stray "Header": null to some device answers; the client must not trip over it.
    rsps.put(
        f"{ADMIN}{path}",
        json={"redirect_to": f"{PUBLIC}/oauth2/device/verify?device_verifier=v", "Header": None},
    )
    answer = hydra.accept_user_code("challenge-123", "WDJBMJHT")
    assert answer.redirect_to.endswith("device_verifier=v")
    sent = rsps.calls[0].request
    assert parse_qs(urlsplit(str(sent.url)).query) == {"device_challenge": ["challenge-123"]}
    sent_body = json.loads(sent.body)
    assert_matches(body_ref.rsplit("/", 1)[-1], sent_body)
    assert sent_body == {"user_code": "WDJBMJHT"}


def test_it_reports_a_wrong_or_used_code_as_a_bad_request(rsps: responses.RequestsMock) -> None:
    error = {"error": "invalid_request", "error_description": "The user_code is invalid or expired."}
    assert_matches(response_schema("PUT", "/admin/oauth2/auth/requests/device/accept", "default"), error)
    rsps.put(f"{ADMIN}/admin/oauth2/auth/requests/device/accept", json=error, status=400)
    with pytest.raises(hydra.HydraBadRequest) as raised:
        hydra.accept_user_code("challenge-123", "NOPE")
    assert raised.value.error == "invalid_request"


@pytest.mark.parametrize("code", ["authorization_pending", "slow_down", "expired_token", "access_denied"])
def test_it_surfaces_each_polling_answer_as_its_oauth_error(rsps: responses.RequestsMock, code: str) -> None:
    body = {"error": code, "error_description": "…"}
    assert_matches("errorOAuth2", body)
    rsps.post(f"{PUBLIC}/oauth2/token", json=body, status=400)
    with pytest.raises(hydra.HydraBadRequest) as raised:
        hydra.device_token("tv-app", "ory_dc_abc.def")
    assert raised.value.error == code
    form = parse_qs(str(rsps.calls[0].request.body))
    assert form["grant_type"] == [hydra.DEVICE_GRANT] and form["device_code"] == ["ory_dc_abc.def"]


def test_it_knows_the_device_lifespans_the_v26_client_has() -> None:
    client_fields = set(spec()["components"]["schemas"]["oAuth2Client"]["properties"])
    device_lifespans = {f for f in client_fields if f.startswith("device_authorization_grant_")}
    assert device_lifespans == set(hydra.DEVICE_LIFESPAN_FIELDS)
    # A v26 client keeps them through Truss's read-modify-write (the model keeps unknown fields).
    client = hydra.OAuth2Client.model_validate(
        {"client_id": "c", "device_authorization_grant_access_token_lifespan": "5m0s"}
    )
    assert client.to_hydra()["device_authorization_grant_access_token_lifespan"] == "5m0s"
