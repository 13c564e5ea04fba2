"""Unit tests for truss.kratos (no network: `responses` mocks)."""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from truss.ory import kratos

ADMIN = "http://kratos.test:4434"
PUBLIC = "http://kratos.test:4433"
FLOW_ID = "0d1b7bb4-2f6e-4c1c-9f0e-6c3f4e0d9a11"
IDENTITY_ID = "8f4a1c3e-5b2d-4e6f-9a7b-1c2d3e4f5a6b"
SESSION_COOKIE = "ory_kratos_session=MTcz...; csrf_token_806060ca5bf70dff3caa0e5c860002aade9d470a5a4dce73bcfa7ba10778f481=Zm9v"

IDENTITY = {
    "id": IDENTITY_ID,
    "schema_id": "default",
    "schema_url": "http://127.0.0.1:4433/schemas/ZGVmYXVsdA",
    "state": "active",
    "state_changed_at": "2025-01-20T10:00:00Z",
    "traits": {"email": "alice@example.test", "name": "Alice"},
    "verifiable_addresses": [
        {
            "id": "1b6f2a1e-0000-4000-8000-000000000001",
            "value": "alice@example.test",
            "verified": True,
            "via": "email",
            "status": "completed",
            "verified_at": "2025-01-20T10:00:00Z",
            "created_at": "2025-01-20T10:00:00Z",
            "updated_at": "2025-01-20T10:00:00Z",
        }
    ],
    "recovery_addresses": [
        {"id": "1b6f2a1e-0000-4000-8000-000000000002", "value": "alice@example.test", "via": "email"}
    ],
    "metadata_public": {"role": "tester"},
    "metadata_admin": None,
    "created_at": "2025-01-20T10:00:00Z",
    "updated_at": "2025-01-20T10:00:00Z",
    "organization_id": None,
}

SESSION = {
    "id": "5a6b7c8d-0000-4000-8000-00000000000a",
    "active": True,
    "expires_at": "2025-01-21T10:00:00Z",
    "authenticated_at": "2025-01-20T10:00:00Z",
    "authenticator_assurance_level": "aal1",
    "authentication_methods": [{"method": "password", "aal": "aal1", "completed_at": "2025-01-20T10:00:00Z"}],
    "issued_at": "2025-01-20T10:00:00Z",
    "identity": IDENTITY,
    "devices": [{"id": "d-1", "ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0", "location": ""}],
}

# A v1.3.1 browser login flow after a failed password attempt (shape of Kratos's own snapshots).
LOGIN_FLOW: dict[str, Any] = {
    "id": FLOW_ID,
    "organization_id": None,
    "type": "browser",
    "expires_at": "2025-01-20T11:00:00.000000Z",
    "issued_at": "2025-01-20T10:00:00.000000Z",
    "request_url": "http://127.0.0.1:4433/self-service/login/browser?return_to=http%3A%2F%2F127.0.0.1%3A8000%2Fbridge%2Flogin",
    "return_to": "http://127.0.0.1:8000/bridge/login?login_challenge=abc",
    "active": "password",
    "ui": {
        "action": f"http://127.0.0.1:4433/self-service/login?flow={FLOW_ID}",
        "method": "POST",
        "nodes": [
            {
                "type": "input",
                "group": "default",
                "attributes": {
                    "name": "csrf_token",
                    "type": "hidden",
                    "value": "Q1NSRi10b2tlbi12YWx1ZQ==",
                    "required": True,
                    "disabled": False,
                    "node_type": "input",
                },
                "messages": [],
                "meta": {},
            },
            {
                "type": "input",
                "group": "default",
                "attributes": {
                    "name": "identifier",
                    "type": "text",
                    "value": "alice@example.test",
                    "required": True,
                    "autocomplete": "username",
                    "disabled": False,
                    "node_type": "input",
                },
                "messages": [],
                "meta": {
                    "label": {"id": 1070002, "text": "E-Mail", "type": "info", "context": {"title": "E-Mail"}}
                },
            },
            {
                "type": "input",
                "group": "password",
                "attributes": {
                    "name": "password",
                    "type": "password",
                    "required": True,
                    "autocomplete": "current-password",
                    "disabled": False,
                    "node_type": "input",
                },
                "messages": [],
                "meta": {"label": {"id": 1070001, "text": "Password", "type": "info"}},
            },
            {
                "type": "input",
                "group": "password",
                "attributes": {
                    "name": "method",
                    "type": "submit",
                    "value": "password",
                    "disabled": False,
                    "node_type": "input",
                },
                "messages": [],
                "meta": {"label": {"id": 1010022, "text": "Sign in with password", "type": "info"}},
            },
        ],
        "messages": [
            {
                "id": 4000006,
                "text": "The provided credentials are invalid, check for spelling mistakes in your password or "
                "username, email address, or phone number.",
                "type": "error",
                "context": {},
            }
        ],
    },
    "created_at": "2025-01-20T10:00:00Z",
    "updated_at": "2025-01-20T10:00:05Z",
    "refresh": False,
    "requested_aal": "aal1",
    "state": "choose_method",
}


@pytest.fixture(autouse=True)
def kratos_settings(settings: Any) -> None:
    settings.KRATOS_ADMIN_URL = ADMIN
    settings.KRATOS_PUBLIC_URL = PUBLIC
    settings.KRATOS_TIMEOUT = 0.25


def kratos_error(status: int, error_id: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "error": {
            "id": error_id,
            "code": status,
            "status": HTTPStatus(status).phrase,
            "reason": reason,
            "message": "The request could not be completed.",
            **extra.pop("error_fields", {}),
        },
        **extra,
    }


# --- Error mapping ----------------------------------------------------------------------------------------


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("status", "exception"),
        [
            (400, kratos.KratosBadRequest),
            (401, kratos.KratosUnauthorized),
            (403, kratos.KratosForbidden),
            (404, kratos.KratosNotFound),
            (409, kratos.KratosConflict),
            (410, kratos.KratosGone),
            (500, kratos.KratosUnavailable),
            (502, kratos.KratosUnavailable),
        ],
    )
    def test_it_maps_each_status_onto_its_exception(
        self, rsps: responses.RequestsMock, status: int, exception: type[kratos.KratosError]
    ) -> None:
        rsps.post(
            f"{ADMIN}/admin/identities", json=kratos_error(status, "some_id", "Why it failed."), status=status
        )

        with pytest.raises(exception) as caught:
            kratos.create_identity(email="a@b.c", password="pw")

        assert caught.value.status == status

    def test_it_maps_kratos_nested_error_object_onto_error_and_description(
        self, rsps: responses.RequestsMock
    ) -> None:
        body = kratos_error(
            409,
            "",
            "This identity conflicts with another identity that already exists.",
            error_fields={"id": None},
        )
        body["error"]["status"] = "Conflict"
        rsps.post(f"{ADMIN}/admin/identities", json=body, status=409)

        with pytest.raises(kratos.KratosConflict) as caught:
            kratos.create_identity(email="alice@example.test", password="pw")

        assert caught.value.error == "Conflict"
        assert (
            caught.value.description == "This identity conflicts with another identity that already exists."
        )
        assert str(caught.value) == (
            "Kratos: conflict (409): Conflict – This identity conflicts with another identity that already exists."
        )

    def test_it_prefers_the_error_id_and_falls_back_to_the_message(
        self, rsps: responses.RequestsMock
    ) -> None:
        body = {"error": {"id": "security_csrf_violation", "code": 403, "message": "CSRF failed."}}
        rsps.get(f"{PUBLIC}/self-service/login/flows", json=body, status=403)

        with pytest.raises(kratos.KratosForbidden) as caught:
            kratos.get_flow("login", FLOW_ID, SESSION_COOKIE)

        assert (caught.value.error, caught.value.description) == ("security_csrf_violation", "CSRF failed.")

    def test_it_maps_timeouts_and_refused_connections_onto_unavailable(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(f"{ADMIN}/admin/identities/{IDENTITY_ID}", body=requests.ReadTimeout("slow"))
        rsps.delete(f"{ADMIN}/admin/identities/{IDENTITY_ID}", body=requests.ConnectionError("refused"))

        with pytest.raises(kratos.KratosUnavailable):
            kratos.get_identity(IDENTITY_ID)
        with pytest.raises(kratos.KratosUnavailable):
            kratos.delete_identity(IDENTITY_ID)

    def test_it_passes_the_kratos_timeout_setting_to_requests(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/identities/{IDENTITY_ID}", json=IDENTITY)

        kratos.get_identity(IDENTITY_ID)

        assert rsps.calls[0].request.req_kwargs["timeout"] == (0.25, 0.25)  # type: ignore[attr-defined]

    def test_it_never_retries_a_post(self, rsps: responses.RequestsMock) -> None:
        rsps.assert_all_requests_are_fired = False
        rsps.post(f"{ADMIN}/admin/identities", status=503)
        rsps.post(f"{ADMIN}/admin/identities", json=IDENTITY, status=201)

        with pytest.raises(kratos.KratosUnavailable):
            kratos.create_identity(email="a@b.c", password="pw")

        assert len(rsps.calls) == 1


# --- Sessions ---------------------------------------------------------------------------------------------


class TestWhoami:
    def test_it_forwards_the_cookie_header_and_returns_the_session(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{PUBLIC}/sessions/whoami",
            json=SESSION,
            match=[matchers.header_matcher({"Cookie": SESSION_COOKIE})],
        )

        session = kratos.whoami(SESSION_COOKIE)

        assert session is not None
        assert session.identity.id == IDENTITY_ID
        assert session.identity.email == "alice@example.test"
        assert session.authenticator_assurance_level == "aal1"
        assert session.amr == ["password"]

    def test_it_keeps_truss_own_cookies_away_from_kratos(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{PUBLIC}/sessions/whoami",
            json=SESSION,
            match=[matchers.header_matcher({"Cookie": SESSION_COOKIE})],
        )

        kratos.whoami(f"truss_session=django-secret; {SESSION_COOKIE}; truss_csrftoken=t")

    def test_it_returns_none_when_kratos_answers_401(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{PUBLIC}/sessions/whoami",
            json=kratos_error(401, "session_inactive", "No valid session credentials found in the request."),
            status=401,
        )

        assert kratos.whoami("ory_kratos_session=expired") is None

    def test_it_returns_none_without_asking_when_there_is_no_cookie(
        self, rsps: responses.RequestsMock
    ) -> None:
        assert kratos.whoami("") is None
        assert kratos.whoami(None) is None
        assert len(rsps.calls) == 0

    def test_it_raises_forbidden_with_the_step_up_url_when_aal2_is_required(
        self, rsps: responses.RequestsMock
    ) -> None:
        step_up = "http://127.0.0.1:4433/self-service/login/browser?aal=aal2"
        rsps.get(
            f"{PUBLIC}/sessions/whoami",
            json=kratos_error(
                403, "session_aal2_required", "Second factor required.", redirect_browser_to=step_up
            ),
            status=403,
        )

        with pytest.raises(kratos.KratosForbidden) as caught:
            kratos.whoami(SESSION_COOKIE)

        assert caught.value.error == "session_aal2_required"
        assert caught.value.redirect_to == step_up

    def test_it_never_carries_a_cookie_from_one_users_response_into_the_next_request(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{PUBLIC}/sessions/whoami",
            json=SESSION,
            headers={"Set-Cookie": "ory_kratos_session=alice-refreshed; Path=/; HttpOnly"},
        )
        rsps.get(f"{PUBLIC}/self-service/errors", json={"id": "e-1", "error": {"code": 500}})

        kratos.whoami(SESSION_COOKIE)
        kratos.get_flow_error("e-1")

        assert "Cookie" not in rsps.calls[1].request.headers


# --- Identities -------------------------------------------------------------------------------------------


class TestIdentities:
    def test_it_reads_an_identity_with_its_admin_metadata(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/identities/{IDENTITY_ID}", json=IDENTITY)

        identity = kratos.get_identity(IDENTITY_ID)

        assert identity.name == "Alice"
        assert identity.metadata_public == {"role": "tester"}
        assert identity.verifiable_addresses[0].verified is True

    def test_it_imports_an_identity_with_a_password_and_a_verified_address(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.post(
            f"{ADMIN}/admin/identities",
            json=IDENTITY,
            status=201,
            match=[
                matchers.json_params_matcher(
                    {
                        "schema_id": "default",
                        "state": "active",
                        "traits": {"email": "alice@example.test", "name": "Alice"},
                        "credentials": {"password": {"config": {"password": "correct horse"}}},
                        "metadata_public": {"role": "tester"},
                        "verifiable_addresses": [
                            {
                                "value": "alice@example.test",
                                "via": "email",
                                "verified": True,
                                "status": "completed",
                            }
                        ],
                    }
                )
            ],
        )

        identity = kratos.create_identity(
            email="alice@example.test",
            password="correct horse",
            name="Alice",
            metadata_public={"role": "tester"},
        )

        assert identity.id == IDENTITY_ID

    def test_it_leaves_the_address_unverified_when_asked(self, rsps: responses.RequestsMock) -> None:
        rsps.post(
            f"{ADMIN}/admin/identities",
            json=IDENTITY,
            status=201,
            match=[
                matchers.json_params_matcher(
                    {
                        "schema_id": "default",
                        "state": "active",
                        "traits": {"email": "bob@example.test"},
                        "credentials": {"password": {"config": {"password": "pw"}}},
                    }
                )
            ],
        )

        kratos.create_identity(email="bob@example.test", password="pw", verified=False)

    def test_it_looks_identities_up_by_credentials_identifier_and_pages(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{ADMIN}/admin/identities",
            json=[IDENTITY],
            headers={"Link": '</admin/identities?page_size=1&page_token=abc>; rel="next"'},
            match=[
                matchers.query_param_matcher(
                    {"credentials_identifier": "alice@example.test", "page_size": "1"}
                )
            ],
        )

        page = kratos.list_identities(credentials_identifier="alice@example.test", page_size=1)

        assert [i.email for i in page.items] == ["alice@example.test"]
        assert page.next_page_token == "abc"

    def test_it_deletes_an_identity(self, rsps: responses.RequestsMock) -> None:
        rsps.delete(f"{ADMIN}/admin/identities/{IDENTITY_ID}", status=204)

        kratos.delete_identity(IDENTITY_ID)

    def test_it_treats_no_sessions_to_delete_as_done(self, rsps: responses.RequestsMock) -> None:
        rsps.delete(
            f"{ADMIN}/admin/identities/{IDENTITY_ID}/sessions",
            json=kratos_error(404, "", "Unable to locate the resource"),
            status=404,
        )

        kratos.delete_identity_sessions(IDENTITY_ID)

    def test_it_is_ready_only_when_kratos_says_so(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/health/ready", json={"status": "ok"})
        rsps.get(f"{ADMIN}/admin/version", json={"version": "v1.3.1"})

        assert kratos.is_ready() is True
        assert kratos.get_version() == "v1.3.1"

    def test_it_is_not_ready_when_kratos_is_down(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{ADMIN}/admin/health/ready", body=requests.ConnectionError("refused"))

        assert kratos.is_ready() is False


# --- Self-service flows -----------------------------------------------------------------------------------


class TestFlows:
    def test_it_builds_browser_flow_urls(self) -> None:
        assert kratos.browser_flow_url("registration") == f"{PUBLIC}/self-service/registration/browser"
        assert kratos.browser_flow_url(
            "login",
            return_to="http://127.0.0.1:8000/bridge/login?login_challenge=abc",
            refresh=True,
            aal="aal2",
        ) == (
            f"{PUBLIC}/self-service/login/browser"
            "?return_to=http%3A%2F%2F127.0.0.1%3A8000%2Fbridge%2Flogin%3Flogin_challenge%3Dabc"
            "&refresh=true&aal=aal2"
        )
        assert kratos.browser_flow_url("login", login_challenge="L-1").endswith("?login_challenge=L-1")

    def test_it_refuses_options_that_do_not_apply_to_the_flow(self) -> None:
        with pytest.raises(ValueError):
            kratos.browser_flow_url("settings", refresh=True)
        with pytest.raises(ValueError):
            kratos.browser_flow_url("recovery", login_challenge="L-1")
        with pytest.raises(ValueError):
            kratos.browser_flow_url("logout")  # type: ignore[arg-type]

    def test_it_parses_a_login_flow_and_exposes_csrf_token_labels_and_errors(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/login/flows",
            json=LOGIN_FLOW,
            match=[
                matchers.query_param_matcher({"id": FLOW_ID}),
                matchers.header_matcher({"Cookie": SESSION_COOKIE}),
            ],
        )

        flow = kratos.get_flow("login", FLOW_ID, SESSION_COOKIE)

        assert flow.kind == "login"
        assert flow.ui.method == "POST"
        assert flow.ui.action.endswith(f"flow={FLOW_ID}")
        assert flow.ui.csrf_token == "Q1NSRi10b2tlbi12YWx1ZQ=="
        assert [n.name for n in flow.ui.nodes] == ["csrf_token", "identifier", "password", "method"]
        assert [n.label for n in flow.ui.nodes] == [None, "E-Mail", "Password", "Sign in with password"]
        identifier = flow.ui.node("identifier")
        assert identifier is not None
        assert identifier.value == "alice@example.test"
        assert identifier.input_type == "text"
        assert flow.ui.node("nope") is None
        assert [m.id for m in flow.ui.errors] == [4000006]
        assert [n.name for n in flow.ui.groups("password")] == [
            "csrf_token",
            "identifier",
            "password",
            "method",
        ]

    def test_it_parses_every_ui_node_variant(self) -> None:
        container = kratos.UiContainer.model_validate(
            {
                "action": "http://127.0.0.1:4433/self-service/settings?flow=f",
                "method": "POST",
                "nodes": [
                    {
                        "type": "text",
                        "group": "lookup_secret",
                        "attributes": {
                            "id": "lookup_secret_codes",
                            "text": {"id": 1050015, "text": "abcd efgh", "type": "info"},
                            "node_type": "text",
                        },
                        "messages": None,
                        "meta": {
                            "label": {
                                "id": 1050010,
                                "text": "These are your back up recovery codes.",
                                "type": "info",
                            }
                        },
                    },
                    {
                        "type": "img",
                        "group": "totp",
                        "attributes": {
                            "id": "totp_qr",
                            "src": "data:image/png;base64,AA==",
                            "width": 256,
                            "height": 256,
                        },
                        "messages": [],
                        "meta": {},
                    },
                    {
                        "type": "a",
                        "group": "oidc",
                        "attributes": {
                            "id": "link",
                            "href": "https://example.test",
                            "title": {"id": 1, "text": "Open", "type": "info"},
                            "node_type": "a",
                        },
                        "messages": [],
                        "meta": {},
                    },
                    {
                        "type": "script",
                        "group": "webauthn",
                        "attributes": {
                            "id": "webauthn_script",
                            "src": "http://127.0.0.1:4433/.well-known/ory/webauthn.js",
                            "async": True,
                            "referrerpolicy": "no-referrer",
                            "crossorigin": "anonymous",
                            "integrity": "sha512-x",
                            "type": "text/javascript",
                            "nonce": "n",
                            "node_type": "script",
                        },
                        "messages": [],
                        "meta": {},
                    },
                ],
            }
        )

        text, image, anchor, script = container.nodes
        assert isinstance(text.attributes, kratos.UiTextAttributes)
        assert text.attributes.text.text == "abcd efgh"
        assert isinstance(image.attributes, kratos.UiImageAttributes)  # node_type filled in from type
        assert anchor.label == "Open"
        assert isinstance(script.attributes, kratos.UiScriptAttributes) and script.attributes.async_ is True
        assert text.name is None
        assert container.csrf_token is None

    def test_it_maps_an_expired_flow_onto_gone_with_a_fresh_init_url(
        self, rsps: responses.RequestsMock
    ) -> None:
        fresh = "http://127.0.0.1:4433/self-service/login/browser"
        rsps.get(
            f"{PUBLIC}/self-service/login/flows",
            json=kratos_error(
                410,
                "self_service_flow_expired",
                "The login flow has expired. Redirect the user to the login flow init endpoint.",
                error_fields={"details": {"redirect_to": fresh}},
            ),
            status=410,
        )

        with pytest.raises(kratos.KratosGone) as caught:
            kratos.get_flow("login", FLOW_ID, SESSION_COOKIE)

        assert caught.value.error == "self_service_flow_expired"
        assert caught.value.redirect_to == fresh

    def test_it_carries_the_replacement_flow_id_of_an_expired_submission(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/settings/flows",
            json=kratos_error(410, "self_service_flow_expired", "Expired.", use_flow_id="f-2"),
            status=410,
        )

        with pytest.raises(kratos.KratosGone) as caught:
            kratos.get_flow("settings", FLOW_ID, SESSION_COOKIE)

        assert caught.value.use_flow_id == "f-2"

    def test_it_maps_a_missing_csrf_cookie_onto_forbidden(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/registration/flows",
            json=kratos_error(
                403, "security_csrf_violation", "The HTTP Cookie Header was set but did not match."
            ),
            status=403,
        )

        with pytest.raises(kratos.KratosForbidden) as caught:
            kratos.get_flow("registration", FLOW_ID, "")

        assert caught.value.error == "security_csrf_violation"
        assert "Cookie" not in rsps.calls[0].request.headers

    def test_it_maps_an_unknown_flow_onto_not_found(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{PUBLIC}/self-service/recovery/flows", json=kratos_error(404, "", "Not found"), status=404)

        with pytest.raises(kratos.KratosNotFound):
            kratos.get_flow("recovery", FLOW_ID, SESSION_COOKIE)

    def test_it_keeps_the_flow_of_a_form_error_answer(self, rsps: responses.RequestsMock) -> None:
        rejected = copy.deepcopy(LOGIN_FLOW)
        rsps.get(f"{PUBLIC}/self-service/login/flows", json=rejected, status=400)

        with pytest.raises(kratos.KratosBadRequest) as caught:
            kratos.get_flow("login", FLOW_ID, SESSION_COOKIE)

        assert caught.value.flow is not None
        assert caught.value.flow.ui.csrf_token == "Q1NSRi10b2tlbi12YWx1ZQ=="
        assert caught.value.description is not None
        assert caught.value.description.startswith("The provided credentials are invalid")

    def test_it_reads_a_self_service_error(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/errors",
            json={
                "id": "e-1",
                "error": {
                    "code": 500,
                    "status": "Internal Server Error",
                    "reason": "Boom",
                    "message": "Oops",
                },
                "created_at": "2025-01-20T10:00:00Z",
                "updated_at": "2025-01-20T10:00:00Z",
            },
            match=[matchers.query_param_matcher({"id": "e-1"})],
        )

        error = kratos.get_flow_error("e-1")

        assert (error.code, error.reason, error.message) == (500, "Boom", "Oops")

    def test_it_creates_a_logout_flow_for_the_browsers_session(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/logout/browser",
            json={
                "logout_url": "http://127.0.0.1:4433/self-service/logout?token=lt-1",
                "logout_token": "lt-1",
            },
            match=[
                matchers.query_param_matcher({"return_to": "http://127.0.0.1:8000/"}),
                matchers.header_matcher({"Cookie": SESSION_COOKIE}),
            ],
        )

        flow = kratos.create_logout_flow(SESSION_COOKIE, return_to="http://127.0.0.1:8000/")

        assert flow is not None and flow.logout_token == "lt-1"

    def test_it_has_no_logout_flow_without_a_session(self, rsps: responses.RequestsMock) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/logout/browser",
            json=kratos_error(401, "session_inactive", "No active session."),
            status=401,
        )

        assert kratos.create_logout_flow("ory_kratos_session=gone") is None

    def test_it_performs_a_logout_with_the_token_and_the_browsers_cookies(
        self, rsps: responses.RequestsMock
    ) -> None:
        rsps.get(
            f"{PUBLIC}/self-service/logout",
            status=204,
            match=[
                matchers.query_param_matcher({"token": "lt-1"}),
                matchers.header_matcher({"Cookie": SESSION_COOKIE}),
            ],
        )

        kratos.perform_logout("lt-1", SESSION_COOKIE)

        assert len(rsps.calls) == 1

    def test_it_accepts_kratos_browser_redirect_after_logout(self, rsps: responses.RequestsMock) -> None:
        rsps.get(f"{PUBLIC}/self-service/logout", status=303, headers={"Location": "http://127.0.0.1:8000/"})

        kratos.perform_logout("lt-1", SESSION_COOKIE)

        assert len(rsps.calls) == 1  # the redirect is not followed
