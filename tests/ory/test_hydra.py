"""Unit tests for truss.hydra and the shared plumbing in truss.ory_http (no network: `responses` mocks)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
import urllib3.util.connection
from responses import matchers
from urllib3.exceptions import ReadTimeoutError

from truss.ory import http as ory_http
from truss.ory import hydra

ADMIN = "http://hydra.test:4445"
PUBLIC = "http://hydra.test:4444"


@pytest.fixture(autouse=True)
def hydra_settings(settings: Any) -> None:
    settings.HYDRA_ADMIN_URL = ADMIN
    settings.HYDRA_PUBLIC_URL = PUBLIC
    settings.HYDRA_TIMEOUT = 0.5
    hydra.clear_version_cache()


@pytest.fixture
def refused_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Make every TCP connect fail with ECONNREFUSED, through the real requests/urllib3 stack."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        attempts.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    monkeypatch.setattr("urllib3.util.retry.time.sleep", lambda seconds: None)
    return attempts


def client_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": "c-1",
        "client_name": "Inventory",
        "owner": "tenant-a",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": ["https://app.example/cb"],
        "post_logout_redirect_uris": None,
        "scope": "openid offline_access",
        "audience": [],
        "token_endpoint_auth_method": "client_secret_basic",
        "skip_consent": False,
        "metadata": {"tier": "gold"},
        "created_at": "2025-01-17T10:00:00Z",
        "updated_at": "2025-01-17T10:00:00Z",
        "authorization_code_grant_access_token_lifespan": None,
    }
    body.update(overrides)
    return body


def login_request_json() -> dict[str, Any]:
    return {
        "challenge": "L" * 1200,
        "skip": False,
        "subject": "",
        "client": client_json(),
        "request_url": "http://127.0.0.1:4444/oauth2/auth?client_id=c-1&prompt=login",
        "requested_scope": ["openid", "profile"],
        "requested_access_token_audience": None,
        "session_id": "sid-1",
        "oidc_context": {"acr_values": None, "login_hint": "alice@example.test", "ui_locales": ["de"]},
    }


def consent_request_json() -> dict[str, Any]:
    return {
        "challenge": "C-1",
        "skip": False,
        "subject": "user-1",
        "client": client_json(),
        "request_url": "http://127.0.0.1:4444/oauth2/auth?client_id=c-1",
        "requested_scope": ["openid", "email"],
        "requested_access_token_audience": ["https://api.example"],
        "login_challenge": "L-1",
        "login_session_id": "sid-1",
        "acr": "aal1",
        "amr": ["pwd"],
        "context": {"tenant": "a"},
    }


RSA_PRIVATE = {
    "kty": "RSA",
    "kid": "k1",
    "alg": "RS256",
    "use": "sig",
    "n": "modulus",
    "e": "AQAB",
    "d": "PRIVATE-d",
    "p": "PRIVATE-p",
    "q": "PRIVATE-q",
    "dp": "PRIVATE-dp",
    "dq": "PRIVATE-dq",
    "qi": "PRIVATE-qi",
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


# --- Status codes become exceptions -----------------------------------------------------------------------


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("status", "exception"),
        [
            (404, hydra.HydraNotFound),
            (409, hydra.HydraConflict),
            (400, hydra.HydraBadRequest),
            (422, hydra.HydraBadRequest),
            (401, hydra.HydraUnauthorized),
            (403, hydra.HydraForbidden),
            (500, hydra.HydraUnavailable),
            (502, hydra.HydraUnavailable),
            (503, hydra.HydraUnavailable),
        ],
    )
    def test_it_maps_each_status_onto_its_exception_with_hydras_error_fields(
        self, rsps: responses.RequestsMock, status: int, exception: type[hydra.HydraError]
    ) -> None:
        body = {"error": "some_error", "error_description": "What Hydra said.", "error_debug": "secret SQL"}
        rsps.put(f"{ADMIN}/admin/clients/c-1", json=body, status=status)

        with pytest.raises(exception) as caught:
            hydra.set_client("c-1", client_json())

        assert caught.value.status == status
        assert caught.value.error == "some_error"
        assert caught.value.description == "What Hydra said."
        assert "secret SQL" not in str(caught.value)

    def test_it_maps_a_410_onto_hydra_gone_carrying_redirect_to(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/oauth2/auth/requests/login",
            json={"redirect_to": "http://127.0.0.1:4444/oauth2/auth?client_id=c-1&login_verifier=v"},
            status=410,
        )

        with pytest.raises(hydra.HydraGone) as caught:
            hydra.get_login_request("L-1")

        assert caught.value.status == 410
        assert caught.value.redirect_to == "http://127.0.0.1:4444/oauth2/auth?client_id=c-1&login_verifier=v"

    def test_it_maps_an_unlisted_status_onto_the_base_error_only(self, rsps: responses.RequestsMock) -> None:
        rsps.delete(f"{ADMIN}/admin/clients/c-1", status=418)

        with pytest.raises(hydra.HydraError) as caught:
            hydra.delete_client("c-1")

        assert type(caught.value) is hydra.HydraError
        assert caught.value.status == 418

    def test_it_reads_as_a_short_sentence_and_leaves_absent_fields_none(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.delete(f"{ADMIN}/admin/clients/c-1", body="<html>nginx</html>", status=404)

        with pytest.raises(hydra.HydraNotFound) as caught:
            hydra.delete_client("c-1")

        assert str(caught.value) == "Hydra: not found (404)"
        assert caught.value.error is None
        assert caught.value.description is None
        assert "nginx" not in str(caught.value)

    def test_it_includes_error_and_description_in_the_message(self, rsps: responses.RequestsMock) -> None:
        body = {"error": "invalid_request", "error_description": "The redirect URI is malformed."}
        rsps.post(f"{ADMIN}/admin/clients", json=body, status=400)

        with pytest.raises(hydra.HydraBadRequest) as caught:
            hydra.create_client({"redirect_uris": ["nope"]})

        assert (
            str(caught.value) == "Hydra: bad request (400): invalid_request – The redirect URI is malformed."
        )

    def test_it_logs_a_failed_connection_without_the_query_string(
        self, rsps: responses.RequestsMock, caplog: pytest.LogCaptureFixture
    ) -> None:
        url = f"{ADMIN}/admin/oauth2/auth/requests/login"
        rsps.get(
            url, body=requests.ConnectionError(f"Max retries exceeded with url: {url}?login_challenge=SECRET")
        )
        with pytest.raises(hydra.HydraUnavailable):
            hydra.get_login_request("SECRET")
        assert "connection failed: ConnectionError" in caplog.text and "SECRET" not in caplog.text

    def test_it_maps_a_refused_connection_onto_unavailable(self, rsps: responses.RequestsMock) -> None:
        rsps.delete(f"{ADMIN}/admin/clients/c-1", body=requests.ConnectionError("refused"))

        with pytest.raises(hydra.HydraUnavailable) as caught:
            hydra.delete_client("c-1")

        assert caught.value.status is None
        assert isinstance(caught.value.__cause__, requests.ConnectionError)

    def test_it_maps_a_read_timeout_onto_unavailable(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", body=requests.ReadTimeout("slow"))

        with pytest.raises(hydra.HydraUnavailable) as caught:
            hydra.get_client("c-1")

        assert caught.value.description == "timed out"

    def test_it_maps_a_non_json_success_onto_the_base_error(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", body="not json", status=200)

        with pytest.raises(hydra.HydraError) as caught:
            hydra.get_client("c-1")

        assert caught.value.error == "invalid_response"

    def test_it_maps_an_unexpected_shape_onto_the_base_error_without_echoing_values(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", json={"client_name": "no id", "client_secret": "s3cr3t"})

        with pytest.raises(hydra.HydraError) as caught:
            hydra.get_client("c-1")

        assert caught.value.error == "invalid_response"
        assert "s3cr3t" not in str(caught.value)
        assert "s3cr3t" not in str(caught.value.__cause__)

    def test_it_lets_callers_catch_any_services_unavailability_through_the_shared_base(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.delete(f"{ADMIN}/admin/clients/c-1", status=503)

        with pytest.raises(ory_http.OryUnavailable):
            hydra.delete_client("c-1")

    def test_it_raises_unavailable_without_a_request_when_the_url_is_not_configured(
        self, rsps: responses.RequestsMock, settings: Any
    ) -> None:
        settings.HYDRA_ADMIN_URL = ""

        with pytest.raises(hydra.HydraUnavailable, match="HYDRA_ADMIN_URL is not configured"):
            hydra.get_client("c-1")

        assert len(rsps.calls) == 0


# --- Retries, timeouts and the session --------------------------------------------------------------------


class TestRetriesAndTimeouts:
    def test_it_never_retries_a_put_even_when_the_next_answer_would_succeed(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.assert_all_requests_are_fired = False
        rsps.put(f"{ADMIN}/admin/clients/c-1", status=503)
        rsps.put(f"{ADMIN}/admin/clients/c-1", json=client_json(), status=200)

        with pytest.raises(hydra.HydraUnavailable):
            hydra.set_client("c-1", client_json())

        assert len(rsps.calls) == 1

    def test_it_never_retries_a_delete_on_a_gateway_error(self, rsps: responses.RequestsMock) -> None:
        rsps.assert_all_requests_are_fired = False
        rsps.delete(f"{ADMIN}/admin/clients/c-1", status=502)
        rsps.delete(f"{ADMIN}/admin/clients/c-1", status=204)

        with pytest.raises(hydra.HydraUnavailable):
            hydra.delete_client("c-1")

        assert len(rsps.calls) == 1

    def test_it_retries_a_get_on_503_and_returns_the_later_success(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", status=503)
        rsps.get(f"{ADMIN}/admin/clients/c-1", json=client_json())

        client = hydra.get_client("c-1")

        assert client.client_id == "c-1"
        assert len(rsps.calls) == 2

    def test_it_gives_up_on_a_get_after_two_retries(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", status=503)

        with pytest.raises(hydra.HydraUnavailable) as caught:
            hydra.get_client("c-1")

        assert caught.value.status == 503
        assert len(rsps.calls) == 3

    def test_it_never_retries_a_post_when_the_connection_is_refused(
        self, refused_connections: list[tuple[str, int]]
    ) -> None:
        with pytest.raises(hydra.HydraUnavailable):
            hydra.create_client({"client_name": "x"})

        assert refused_connections == [("hydra.test", 4445)]

    def test_it_never_retries_a_put_when_the_connection_is_refused(
        self, refused_connections: list[tuple[str, int]]
    ) -> None:
        with pytest.raises(hydra.HydraUnavailable):
            hydra.accept_logout_request("G-1")

        assert len(refused_connections) == 1

    def test_it_retries_a_get_when_the_connection_is_refused(
        self, refused_connections: list[tuple[str, int]]
    ) -> None:
        with pytest.raises(hydra.HydraUnavailable):
            hydra.get_client("c-1")

        assert len(refused_connections) == 3

    def test_it_does_not_retry_a_read_timeout_even_for_a_get(self) -> None:
        policy = ory_http._retry_policy()
        error = ReadTimeoutError(None, "/admin/clients", "read timed out")  # type: ignore[arg-type]

        with pytest.raises(ReadTimeoutError):
            policy.increment("GET", "/admin/clients", error=error)

    def test_it_passes_the_timeout_setting_to_requests(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", json=client_json())

        hydra.get_client("c-1")

        assert rsps.calls[0].request.req_kwargs["timeout"] == (0.5, 0.5)  # type: ignore[attr-defined]

    def test_it_caps_only_the_connect_part_of_a_long_timeout(
        self, rsps: responses.RequestsMock, settings: Any
    ) -> None:
        settings.HYDRA_TIMEOUT = 10
        rsps.get(f"{ADMIN}/admin/clients/c-1", json=client_json())

        hydra.get_client("c-1")

        assert rsps.calls[0].request.req_kwargs["timeout"] == (3.05, 10.0)  # type: ignore[attr-defined]

    def test_it_reads_the_urls_at_call_time(self, rsps: responses.RequestsMock, settings: Any) -> None:
        settings.HYDRA_ADMIN_URL = "http://other-hydra.test:4445/"
        rsps.get("http://other-hydra.test:4445/admin/clients/c-1", json=client_json())

        assert hydra.get_client("c-1").client_id == "c-1"

    def test_it_identifies_itself_and_asks_for_json(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/clients/c-1",
            json=client_json(),
            match=[matchers.header_matcher({"User-Agent": "truss/0.1", "Accept": "application/json"})],
        )

        hydra.get_client("c-1")

    def test_it_reuses_one_session_per_thread(self) -> None:
        assert ory_http.session() is ory_http.session()

    def test_it_quotes_ids_in_paths(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/clients/a%2Fb%3Fc", json=client_json(client_id="a/b?c"))

        assert hydra.get_client("a/b?c").client_id == "a/b?c"


# --- Health and version -----------------------------------------------------------------------------------


class TestHealthAndVersion:
    def test_it_is_ready_when_hydra_answers_200(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/health/ready", json={"status": "ok"})

        assert hydra.is_ready() is True

    def test_it_is_not_ready_instead_of_raising_when_hydra_is_down(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(f"{ADMIN}/health/ready", body=requests.ConnectionError("refused"))

        assert hydra.is_ready() is False

    def test_it_is_not_ready_when_the_database_check_fails(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/health/ready", json={"errors": {"database": "down"}}, status=503)

        assert hydra.is_ready() is False

    def test_it_reads_the_version(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/version", json={"version": "v2.3.0"})

        assert hydra.get_version() == "v2.3.0"

    def test_it_gates_features_on_the_version_and_asks_hydra_once_a_minute(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(f"{ADMIN}/version", json={"version": "v2.3.0"})

        assert hydra.version_at_least("v2.2.0") is True
        assert hydra.version_at_least("2.3") is True
        assert hydra.version_at_least("v25.4.0") is False
        assert len(rsps.calls) == 1

    def test_it_treats_an_unversioned_build_as_not_new_enough(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/version", json={"version": "master"})

        assert hydra.version_at_least("v2.0.0") is False

    def test_it_parses_semver_ish_versions(self) -> None:
        assert hydra.parse_version("v2.3.0") == (2, 3, 0)
        assert hydra.parse_version("25.4.0-pre.1") == (25, 4, 0)
        assert hydra.parse_version("v2") == (2, 0, 0)
        assert hydra.parse_version("master") is None


# --- Discovery and keys -----------------------------------------------------------------------------------


class TestKeys:
    def test_it_strips_private_members_from_get_jwk_set(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/keys/hydra.openid.id-token", json={"keys": [RSA_PRIVATE]})

        keys = hydra.get_jwk_set("hydra.openid.id-token")

        [key] = keys.keys
        assert (key.kid, key.kty, key.alg, key.n, key.e) == ("k1", "RSA", "RS256", "modulus", "AQAB")
        dumped = keys.model_dump(mode="json")["keys"][0]
        assert PRIVATE_MEMBERS.isdisjoint(dumped)
        assert "PRIVATE" not in json.dumps(keys.model_dump(mode="json"))

    def test_it_strips_private_members_from_create_jwk_set_and_sends_the_generation_request(
        self, rsps: responses.RequestsMock
    ) -> None:
        ec_private = {
            "kty": "EC",
            "kid": "k2",
            "alg": "ES256",
            "use": "sig",
            "crv": "P-256",
            "x": "xx",
            "y": "yy",
            "d": "PRIVATE-d",
        }
        rsps.post(
            f"{ADMIN}/admin/keys/hydra.jwt.access-token",
            json={"keys": [ec_private]},
            status=201,
            match=[matchers.json_params_matcher({"alg": "ES256", "use": "sig", "kid": "k2"})],
        )

        keys = hydra.create_jwk_set("hydra.jwt.access-token", alg="ES256", kid="k2")

        assert keys.keys[0].crv == "P-256"
        assert "PRIVATE" not in keys.model_dump_json()

    def test_it_strips_symmetric_key_material(self) -> None:
        key = hydra.JsonWebKey.model_validate({"kty": "oct", "kid": "h", "k": "PRIVATE-k"})

        assert "PRIVATE" not in key.model_dump_json()

    def test_it_lets_hydra_choose_the_kid_when_none_is_given(self, rsps: responses.RequestsMock) -> None:
        rsps.post(
            f"{ADMIN}/admin/keys/s",
            json={"keys": [RSA_PRIVATE]},
            status=201,
            match=[matchers.json_params_matcher({"alg": "RS256", "use": "sig"})],
        )

        hydra.create_jwk_set("s", alg="RS256")

    def test_it_deletes_one_key_and_whole_sets(self, rsps: responses.RequestsMock) -> None:
        rsps.delete(f"{ADMIN}/admin/keys/s/k1", status=204)
        rsps.delete(f"{ADMIN}/admin/keys/s", status=204)

        hydra.delete_jwk("s", "k1")
        hydra.delete_jwk_set("s")

    def test_it_reads_the_public_jwks_and_discovery_from_the_public_port(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(f"{PUBLIC}/.well-known/jwks.json", json={"keys": [RSA_PRIVATE]})
        rsps.get(
            f"{PUBLIC}/.well-known/openid-configuration",
            json={
                "issuer": "http://127.0.0.1:4444/",
                "authorization_endpoint": "http://127.0.0.1:4444/oauth2/auth",
                "token_endpoint": "http://127.0.0.1:4444/oauth2/token",
                "jwks_uri": "http://127.0.0.1:4444/.well-known/jwks.json",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "request_parameter_supported": True,
            },
        )

        jwks = hydra.public_jwks()
        assert jwks.keys[0].kid == "k1"
        assert "PRIVATE" not in jwks.model_dump_json()
        doc = hydra.discovery()
        assert doc.token_endpoint.endswith("/oauth2/token")
        assert doc.model_extra == {"request_parameter_supported": True}


# --- Clients ----------------------------------------------------------------------------------------------


class TestClients:
    def test_it_sends_the_list_filters_and_parses_the_next_page_token_from_the_link_header(
        self, rsps: responses.RequestsMock
    ) -> None:
        link = (
            '</admin/clients?page_size=2&page_token=eyJvZmZzZXQiOiIwIiwidiI6Mn0>; rel="first",'
            '</admin/clients?owner=tenant-a&page_size=2&page_token=eyJvZmZzZXQiOiIyIiwidiI6Mn0>; rel="next"'
        )
        rsps.get(
            f"{ADMIN}/admin/clients",
            json=[client_json(client_id="c-1"), client_json(client_id="c-2")],
            headers={"Link": link},
            match=[
                matchers.query_param_matcher(
                    {"owner": "tenant-a", "client_name": "Inventory", "page_size": "2"}
                )
            ],
        )

        page = hydra.list_clients(owner="tenant-a", client_name="Inventory", page_size=2)

        assert [c.client_id for c in page.items] == ["c-1", "c-2"]
        assert page.next_page_token == "eyJvZmZzZXQiOiIyIiwidiI6Mn0"

    def test_it_passes_the_page_token_back(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/clients",
            json=[],
            match=[matchers.query_param_matcher({"page_size": "50", "page_token": "tok"})],
        )

        page = hydra.list_clients(page_token="tok")

        assert page.items == []
        assert page.next_page_token is None

    @pytest.mark.parametrize(
        ("body", "expected"),
        [("null", []), ("", []), ("not json", "response is not JSON"), ('[{"client_id": 5}]', "list shape")],
    )
    def test_it_reads_a_page_from_the_raw_body_and_names_a_broken_one(
        self, rsps: responses.RequestsMock, body: str, expected: Any
    ) -> None:
        rsps.get(f"{ADMIN}/admin/clients", body=body, content_type="application/json")
        if isinstance(expected, list):
            assert hydra.list_clients().items == expected
            return
        with pytest.raises(hydra.HydraError) as caught:
            hydra.list_clients()
        assert caught.value.error == "invalid_response" and expected in str(caught.value)

    def test_it_ends_paging_on_a_short_page_even_if_hydra_links_a_next_one(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{ADMIN}/admin/clients",
            json=[client_json()],
            headers={"Link": '</admin/clients?page_size=2&page_token=next>; rel="next"'},
        )

        assert hydra.list_clients(page_size=2).next_page_token is None

    def test_it_keeps_unknown_fields_for_a_full_replace(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/clients/c-1", json=client_json(future_field={"x": 1}))

        client = hydra.get_client("c-1")
        body = client.to_hydra()

        assert body["future_field"] == {"x": 1}
        assert body["metadata"] == {"tier": "gold"}
        assert body["post_logout_redirect_uris"] == []
        assert "created_at" not in body
        assert "client_secret" not in body
        assert "authorization_code_grant_access_token_lifespan" not in body

    def test_it_puts_the_round_tripped_client_back(self, rsps: responses.RequestsMock) -> None:
        original = hydra.OAuth2Client.model_validate(client_json(future_field="kept"))
        rsps.put(
            f"{ADMIN}/admin/clients/c-1",
            json=client_json(client_name="Renamed"),
            match=[matchers.json_params_matcher(original.to_hydra())],
        )

        updated = hydra.set_client("c-1", original)

        assert updated.client_name == "Renamed"

    def test_it_returns_the_secret_once_on_create(self, rsps: responses.RequestsMock) -> None:
        rsps.post(
            f"{ADMIN}/admin/clients",
            json=client_json(client_secret="generated-secret"),
            status=201,
            match=[matchers.json_params_matcher({"client_name": "Inventory", "owner": "tenant-a"})],
        )

        created = hydra.create_client({"client_name": "Inventory", "owner": "tenant-a"})

        assert created.client_secret == "generated-secret"

    def test_it_knows_public_clients(self) -> None:
        assert hydra.OAuth2Client(client_id="spa", token_endpoint_auth_method="none").is_public
        assert not hydra.OAuth2Client.model_validate(client_json()).is_public

    def test_it_sends_a_json_patch(self, rsps: responses.RequestsMock) -> None:
        ops = [{"op": "replace", "path": "/client_secret", "value": "new-secret"}]
        rsps.patch(
            f"{ADMIN}/admin/clients/c-1",
            json=client_json(client_secret="new-secret"),
            match=[matchers.json_params_matcher(ops)],
        )

        assert hydra.patch_client("c-1", ops).client_secret == "new-secret"

    def test_it_replaces_all_lifespans_with_null_for_the_omitted_ones(
        self, rsps: responses.RequestsMock
    ) -> None:
        expected: dict[str, str | None] = dict.fromkeys(hydra.LIFESPAN_FIELDS)
        expected["client_credentials_grant_access_token_lifespan"] = "15m"
        rsps.put(
            f"{ADMIN}/admin/clients/c-1/lifespans",
            json=client_json(client_credentials_grant_access_token_lifespan="15m"),
            match=[matchers.json_params_matcher(expected)],
        )

        client = hydra.set_client_lifespans("c-1", {"client_credentials_grant_access_token_lifespan": "15m"})

        assert client.lifespans["client_credentials_grant_access_token_lifespan"] == "15m"

    def test_it_refuses_an_unknown_lifespan_field_before_calling_hydra(self) -> None:
        with pytest.raises(ValueError, match="access_token_ttl"):
            hydra.set_client_lifespans("c-1", {"access_token_ttl": "1h"})


# --- Tokens -----------------------------------------------------------------------------------------------


class TestTokens:
    def test_it_introspects_with_a_form_encoded_body(self, rsps: responses.RequestsMock) -> None:
        rsps.post(
            f"{ADMIN}/admin/oauth2/introspect",
            json={
                "active": True,
                "sub": "user-1",
                "client_id": "c-1",
                "scope": "openid",
                "aud": None,
                "token_type": "Bearer",
                "token_use": "access_token",
                "ext": {"tenant": "a"},
            },
            match=[matchers.urlencoded_params_matcher({"token": "at-1", "scope": "openid"})],
        )

        result = hydra.introspect("at-1", scope="openid")

        assert result.active is True
        assert result.token_use == "access_token"
        assert result.aud == []
        assert result.ext == {"tenant": "a"}

    def test_it_deletes_a_clients_access_tokens(self, rsps: responses.RequestsMock) -> None:
        rsps.delete(
            f"{ADMIN}/admin/oauth2/tokens",
            status=204,
            match=[matchers.query_param_matcher({"client_id": "c-1"})],
        )

        hydra.delete_client_tokens("c-1")

    def test_it_gets_a_client_credentials_token_with_basic_auth_on_the_public_port(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.post(
            f"{PUBLIC}/oauth2/token",
            json={"access_token": "at", "token_type": "bearer", "expires_in": 3599, "scope": "read"},
            match=[
                matchers.urlencoded_params_matcher({"grant_type": "client_credentials", "scope": "read"}),
                # "s+/%" is form-encoded before Basic encoding (RFC 6749 §2.3.1): base64("c-1:s%2B%2F%25")
                matchers.header_matcher({"Authorization": "Basic Yy0xOnMlMkIlMkYlMjU="}),
            ],
        )

        token = hydra.client_credentials_token("c-1", "s+/%", scope="read")

        assert (token.access_token, token.expires_in) == ("at", 3599)

    def test_it_maps_a_wrong_client_secret_onto_unauthorized(self, rsps: responses.RequestsMock) -> None:
        rsps.post(
            f"{PUBLIC}/oauth2/token",
            json={"error": "invalid_client", "error_description": "Client authentication failed."},
            status=401,
        )

        with pytest.raises(hydra.HydraUnauthorized) as caught:
            hydra.client_credentials_token("c-1", "wrong")

        assert caught.value.error == "invalid_client"

    def test_it_revokes_a_token_as_its_client(self, rsps: responses.RequestsMock) -> None:
        rsps.post(
            f"{PUBLIC}/oauth2/revoke",
            status=200,
            match=[
                matchers.urlencoded_params_matcher({"token": "rt-1"}),
                matchers.header_matcher({"Authorization": "Basic Yy0xOnNlY3JldA=="}),
            ],
        )

        hydra.revoke_token("rt-1", "c-1", "secret")


# --- Login, consent and logout ----------------------------------------------------------------------------


class TestChallenges:
    def test_it_reads_a_login_request(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/oauth2/auth/requests/login",
            json=login_request_json(),
            match=[matchers.query_param_matcher({"login_challenge": "L" * 1200})],
        )

        request = hydra.get_login_request("L" * 1200)

        assert request.client.client_id == "c-1"
        assert request.requested_scope == ["openid", "profile"]
        assert request.requested_access_token_audience == []
        assert request.oidc_context is not None
        assert request.oidc_context.login_hint == "alice@example.test"

    def test_it_accepts_a_login_with_the_kratos_session(self, rsps: responses.RequestsMock) -> None:
        rsps.put(
            f"{ADMIN}/admin/oauth2/auth/requests/login/accept",
            json={"redirect_to": "http://127.0.0.1:4444/oauth2/auth?login_verifier=v"},
            match=[
                matchers.query_param_matcher({"login_challenge": "L-1"}),
                matchers.json_params_matcher(
                    {
                        "subject": "user-1",
                        "remember": True,
                        "remember_for": 3600,
                        "acr": "aal1",
                        "amr": ["pwd"],
                        "context": {"tenant": "a"},
                        "identity_provider_session_id": "kratos-session",
                    }
                ),
            ],
        )

        result = hydra.accept_login_request(
            "L-1",
            subject="user-1",
            remember=True,
            remember_for=3600,
            acr="aal1",
            amr=["pwd"],
            context={"tenant": "a"},
            identity_provider_session_id="kratos-session",
        )

        assert result.redirect_to.endswith("login_verifier=v")

    def test_it_rejects_a_login_with_an_oauth_error(self, rsps: responses.RequestsMock) -> None:
        rsps.put(
            f"{ADMIN}/admin/oauth2/auth/requests/login/reject",
            json={"redirect_to": "https://app.example/cb?error=access_denied"},
            match=[matchers.json_params_matcher({"error": "access_denied", "error_description": "No."})],
        )

        result = hydra.reject_login_request("L-1", error="access_denied", error_description="No.")

        assert "error=access_denied" in result.redirect_to

    def test_it_reads_a_consent_request(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/oauth2/auth/requests/consent", json=consent_request_json())

        request = hydra.get_consent_request("C-1")

        assert request.subject == "user-1"
        assert request.context == {"tenant": "a"}
        assert request.login_session_id == "sid-1"

    def test_it_puts_consent_claims_under_session_id_token_and_access_token(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.put(
            f"{ADMIN}/admin/oauth2/auth/requests/consent/accept",
            json={"redirect_to": "http://127.0.0.1:4444/oauth2/auth?consent_verifier=v"},
            match=[
                matchers.query_param_matcher({"consent_challenge": "C-1"}),
                matchers.json_params_matcher(
                    {
                        "grant_scope": ["openid", "email"],
                        "grant_access_token_audience": ["https://api.example"],
                        "remember": True,
                        "remember_for": 0,
                        "session": {
                            "id_token": {"email": "alice@example.test"},
                            "access_token": {"role": "admin"},
                        },
                    }
                ),
            ],
        )

        result = hydra.accept_consent_request(
            "C-1",
            grant_scope=["openid", "email"],
            grant_access_token_audience=["https://api.example"],
            remember=True,
            id_token_claims={"email": "alice@example.test"},
            access_token_claims={"role": "admin"},
        )

        assert result.redirect_to.endswith("consent_verifier=v")

    def test_it_leaves_the_session_out_when_there_are_no_claims(self, rsps: responses.RequestsMock) -> None:
        rsps.put(f"{ADMIN}/admin/oauth2/auth/requests/consent/accept", json={"redirect_to": "x"})

        hydra.accept_consent_request("C-1", grant_scope=["openid"])

        sent = json.loads(rsps.calls[0].request.body or b"{}")
        assert "session" not in sent
        assert sent["grant_access_token_audience"] == []

    def test_it_rejects_a_consent(self, rsps: responses.RequestsMock) -> None:
        rsps.put(
            f"{ADMIN}/admin/oauth2/auth/requests/consent/reject",
            json={"redirect_to": "https://app.example/cb?error=access_denied"},
            match=[matchers.json_params_matcher({"error": "access_denied"})],
        )

        assert hydra.reject_consent_request("C-1", error="access_denied").redirect_to

    def test_it_surfaces_an_already_handled_consent_as_gone(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/oauth2/auth/requests/consent",
            json={"redirect_to": "http://127.0.0.1:4444/oauth2/auth?consent_verifier=old"},
            status=410,
        )

        with pytest.raises(hydra.HydraGone) as caught:
            hydra.get_consent_request("C-1")

        assert caught.value.redirect_to == "http://127.0.0.1:4444/oauth2/auth?consent_verifier=old"

    def test_it_reads_accepts_and_rejects_a_logout(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/oauth2/auth/requests/logout",
            json={
                "challenge": "G-1",
                "subject": "user-1",
                "sid": "sid-1",
                "request_url": "/oauth2/sessions/logout",
                "rp_initiated": True,
                "client": client_json(skip_logout_consent=True),
                "requested_at": "2025-01-17T10:00:00Z",
                "expires_at": None,
            },
        )
        rsps.put(
            f"{ADMIN}/admin/oauth2/auth/requests/logout/accept",
            json={"redirect_to": "https://app.example/logged-out"},
            match=[matchers.query_param_matcher({"logout_challenge": "G-1"})],
        )
        rsps.put(f"{ADMIN}/admin/oauth2/auth/requests/logout/reject", status=204)

        request = hydra.get_logout_request("G-1")
        accepted = hydra.accept_logout_request("G-1")
        hydra.reject_logout_request("G-1")

        assert request.client is not None and request.client.skip_logout_consent is True
        assert accepted.redirect_to == "https://app.example/logged-out"
        assert len(rsps.calls) == 3
        assert rsps.calls[1].request.body is None


# --- Sessions and trust -----------------------------------------------------------------------------------


class TestSessionsAndTrust:
    def test_it_lists_consent_sessions_in_one_large_page(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{ADMIN}/admin/oauth2/auth/sessions/consent",
            json=[
                {
                    "consent_request": consent_request_json(),
                    "grant_scope": ["openid"],
                    "grant_access_token_audience": None,
                    "remember": True,
                    "remember_for": 0,
                    "handled_at": "2025-01-17T10:00:00Z",
                    "session": {"id_token": {"email": "a@b.c"}, "access_token": None},
                    "expires_at": {"access_token": "2025-01-17T11:00:00Z"},
                }
            ],
            match=[
                matchers.query_param_matcher(
                    {"subject": "user-1", "login_session_id": "sid-1", "page_size": "500"}
                )
            ],
        )

        [session] = hydra.list_consent_sessions("user-1", login_session_id="sid-1")

        assert session.consent_request.client.owner == "tenant-a"
        assert session.session is not None and session.session.id_token == {"email": "a@b.c"}

    def test_it_revokes_consents_for_one_client_or_all(self, rsps: responses.RequestsMock) -> None:
        url = f"{ADMIN}/admin/oauth2/auth/sessions/consent"
        rsps.delete(url, status=204, match=[matchers.query_param_matcher({"subject": "u", "client": "c-1"})])
        rsps.delete(url, status=204, match=[matchers.query_param_matcher({"subject": "u", "all": "true"})])

        hydra.revoke_consent_sessions("u", client_id="c-1")
        hydra.revoke_consent_sessions("u", all_clients=True)

        with pytest.raises(ValueError):
            hydra.revoke_consent_sessions("u")
        with pytest.raises(ValueError):
            hydra.revoke_consent_sessions("u", client_id="c-1", all_clients=True)

    def test_it_revokes_login_sessions_by_subject_or_sid(self, rsps: responses.RequestsMock) -> None:
        url = f"{ADMIN}/admin/oauth2/auth/sessions/login"
        rsps.delete(url, status=204, match=[matchers.query_param_matcher({"subject": "u"})])
        rsps.delete(url, status=204, match=[matchers.query_param_matcher({"sid": "s"})])

        hydra.revoke_login_sessions(subject="u")
        hydra.revoke_login_sessions(sid="s")

        with pytest.raises(ValueError):
            hydra.revoke_login_sessions()

    def test_it_manages_trusted_jwt_bearer_issuers(self, rsps: responses.RequestsMock) -> None:
        issuer = {
            "id": "t-1",
            "issuer": "https://partner.example",
            "subject": "svc",
            "allow_any_subject": False,
            "scope": ["inventory:read"],
            "public_key": {"set": "https://partner.example", "kid": "pk-1"},
            "created_at": "2025-01-17T10:00:00Z",
            "expires_at": "2027-01-01T00:00:00Z",
        }
        body = {
            "issuer": "https://partner.example",
            "subject": "svc",
            "scope": ["inventory:read"],
            "expires_at": "2027-01-01T00:00:00Z",
            "jwk": {"kty": "RSA", "kid": "pk-1", "n": "modulus", "e": "AQAB", "alg": "RS256", "use": "sig"},
        }
        url = f"{ADMIN}/admin/trust/grants/jwt-bearer/issuers"
        rsps.post(url, json=issuer, status=201, match=[matchers.json_params_matcher(body)])
        rsps.get(
            url, json=[issuer], match=[matchers.query_param_matcher({"issuer": "https://partner.example"})]
        )
        rsps.delete(f"{url}/t-1", status=204)

        created = hydra.trust_issuer(body)
        listed = hydra.list_trusted_issuers(issuer="https://partner.example")
        hydra.delete_trusted_issuer("t-1")

        assert created.public_key is not None and created.public_key.kid == "pk-1"
        assert [i.id for i in listed] == ["t-1"]


def test_it_reads_only_documented_error_fields_from_either_body_shape() -> None:
    hydra_body = {"error": "not_found", "error_description": "Gone.", "error_debug": "x"}
    kratos_body = {
        "error": {"id": "self_service_flow_expired", "code": 410, "status": "Gone", "reason": "Expired."},
        "use_flow_id": "f-2",
    }

    assert ory_http.error_details(hydra_body) == ory_http.ErrorDetails("not_found", "Gone.")
    assert ory_http.error_details(kratos_body) == ory_http.ErrorDetails(
        "self_service_flow_expired", "Expired.", None, "f-2"
    )
    assert ory_http.error_details(["not", "an", "object"]) == ory_http.ErrorDetails()
