"""The flow tester's auth-code + PKCE and client-credentials runs, through the real Hydra, bridge and Kratos."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from oauth2_admin.devtools import flows
from tests.devtools.conftest import SECRET, sign_in_and_consent, start_run
from truss.models import AuditEvent
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _all_persisted_text() -> str:
    from django.contrib.sessions.models import Session

    sessions = " ".join(str(s.get_decoded()) for s in Session.objects.all())
    events = " ".join(str((e.before, e.after, e.target)) for e in AuditEvent.objects.all())
    return sessions + events


def test_it_runs_auth_code_with_pkce_verifies_the_tokens_and_never_keeps_the_secret(flow_world):
    operator, client = flow_world["operator"], flow_world["code_client"]()
    run_url, auth_url = start_run(
        operator, client["client_id"], prompt="consent", max_age="3600", ui_locales="de en"
    )
    params = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["redirect_uri"] == flows.callback_url() and params["prompt"] == "consent"
    assert params["max_age"] == "3600" and params["ui_locales"] == "de en" and params["nonce"]
    assert params["scope"] == "openid email profile offline_access"  # empty scope: all of the client's

    arrived = sign_in_and_consent(flow_world, auth_url)
    page = operator.get(arrived)
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "state matches" in body and "Exchange the code for tokens" in body
    code = parse_qs(urlsplit(arrived).query)["code"][0]
    assert code not in body  # masked

    exchanged = operator.post(
        reverse("console:devtools:run_exchange", args=[params["state"]]), {"secret": SECRET}
    )
    assert exchanged.status_code == 302 and exchanged["Location"].endswith(f"?state={params['state']}")
    body = operator.get(exchanged["Location"]).content.decode()
    assert 'data-testid="id-token-verdict"><span class="badge success">verified</span>' in body
    assert "nonce matches the one this run sent" in body
    assert flow_world["person"]["email"] in body  # userinfo
    assert "&quot;active&quot;: true" in body  # introspection
    assert "Copy as curl" in body and "$CLIENT_SECRET" in body and "$CODE_VERIFIER" in body
    assert SECRET not in body and SECRET not in _all_persisted_text()
    # The code is single-use and gone from the run: a second exchange does nothing.
    again = operator.post(
        reverse("console:devtools:run_exchange", args=[params["state"]]), {"secret": SECRET}
    )
    assert again.status_code == 302
    assert operator.get(run_url).content.decode().count("Token request (authorization_code") == 1


def test_it_refreshes_and_revokes_the_result(flow_world):
    operator, client = flow_world["operator"], flow_world["code_client"]()
    run_url, auth_url = start_run(operator, client["client_id"])
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    operator.get(sign_in_and_consent(flow_world, auth_url))
    operator.post(reverse("console:devtools:run_exchange", args=[state]), {"secret": SECRET})
    run = operator.session[flows.SESSION_KEY][state]
    first_refresh = run["tokens"]["refresh_token"]

    missing = operator.post(reverse("console:devtools:run_refresh", args=[state]), {})
    assert "Type the client" in operator.get(missing["Location"]).content.decode()
    operator.post(reverse("console:devtools:run_refresh", args=[state]), {"secret": SECRET})
    run = operator.session[flows.SESSION_KEY][state]
    assert run["refreshed"] == 1 and run["tokens"]["refresh_token"] != first_refresh
    assert run["id_token"]["verified"] is True

    operator.post(reverse("console:devtools:run_revoke", args=[state]), {"secret": SECRET})
    run = operator.session[flows.SESSION_KEY][state]
    assert run["revoked"] is True and run["introspection"]["active"] is False
    assert hydra.introspect(run["tokens"]["access_token"]).active is False
    event = AuditEvent.objects.get(action="devtools.flow.revoke")
    assert event.target == client["client_id"] and SECRET not in str(event.after)


def test_it_explains_a_refused_consent_with_what_to_change(flow_world):
    operator, client = flow_world["operator"], flow_world["code_client"]()
    _, auth_url = start_run(operator, client["client_id"])
    arrived = sign_in_and_consent(flow_world, auth_url, action="reject")
    body = operator.get(arrived).content.decode()
    assert 'data-testid="callback-error"' in body and "<code>access_denied</code>" in body
    assert "What to change:" in body and "Exchange the code" not in body


def test_it_explains_an_invalid_scope(flow_world):
    operator, client = flow_world["operator"], flow_world["code_client"](scope="openid")
    _, auth_url = start_run(operator, client["client_id"], scope="openid admin")
    response = requests.get(auth_url, allow_redirects=False, timeout=10)
    arrived = response.headers["Location"]
    assert arrived.startswith(flows.callback_url())
    body = operator.get(arrived).content.decode()
    assert "<code>invalid_scope</code>" in body and "add the scope to the client" in body


def test_it_adds_the_callback_as_a_redirect_uri_audited_and_only_for_the_tenants_clients(
    flow_world, make_hydra_client, other_tenant
):
    operator = flow_world["operator"]
    client = flow_world["code_client"](redirect_uris=["https://app.example.com/cb"])
    page = operator.get(reverse("console:devtools:flow")).content.decode()
    assert "Add this callback as a redirect URI" in page
    operator.post(reverse("console:devtools:add_redirect"), {"client": client["client_id"]})
    assert hydra.get_client(client["client_id"]).redirect_uris == [
        "https://app.example.com/cb",
        flows.callback_url(),
    ]
    assert AuditEvent.objects.filter(action="oauth2.client.update", target=client["client_id"]).exists()

    foreign = flow_world["code_client"](
        owner=other_tenant.hydra_owner, redirect_uris=["https://x.example.com/cb"]
    )
    assert (
        operator.post(reverse("console:devtools:add_redirect"), {"client": foreign["client_id"]}).status_code
        == 404
    )
    assert hydra.get_client(foreign["client_id"]).redirect_uris == ["https://x.example.com/cb"]
    refused = operator.post(reverse("console:devtools:flow_start"), {"client": foreign["client_id"]})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()


def test_it_keeps_viewers_to_reading(flow_world, console):
    viewer = console("viewer")
    assert viewer.get(reverse("console:devtools:flow")).status_code == 200
    client = flow_world["code_client"]()
    assert (
        viewer.post(reverse("console:devtools:flow_start"), {"client": client["client_id"]}).status_code
        == 403
    )


def test_it_shows_another_sessions_state_only_as_the_public_page(flow_world, console):
    operator, client = flow_world["operator"], flow_world["code_client"]()
    _, auth_url = start_run(operator, client["client_id"])
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    stranger = console("admin")
    body = stranger.get(
        reverse("console:devtools:callback"), {"code": "abc" * 10, "state": state}
    ).content.decode()
    assert "the application got a code" in body and "Exchange the code" not in body
    assert stranger.get(reverse("console:devtools:run", args=[state])).status_code == 404


def test_it_runs_client_credentials_with_introspection(flow_world, make_hydra_client, tenant):
    operator = flow_world["operator"]
    machine = make_hydra_client(
        owner=tenant.hydra_owner,
        client_secret=SECRET,
        scope="read write",
        audience=["https://api.example.com"],
    )
    response = operator.post(
        reverse("console:devtools:client_credentials"),
        {
            "client": machine["client_id"],
            "secret": SECRET,
            "scope": "read",
            "audience": "https://api.example.com",
        },
    )
    assert response.status_code == 302
    body = operator.get(response["Location"]).content.decode()
    assert 'data-testid="token-response"' in body and "&quot;token_type&quot;: &quot;bearer&quot;" in body
    assert "&quot;active&quot;: true" in body and "https://api.example.com" in body
    assert SECRET not in body and SECRET not in _all_persisted_text()

    wrong = operator.post(
        reverse("console:devtools:client_credentials"),
        {"client": machine["client_id"], "secret": "nope-nope-nope"},
    )
    body = operator.get(wrong["Location"]).content.decode()
    assert "invalid_client" in body and 'data-testid="token-response"' not in body


def test_it_says_hydra_is_unavailable(console, hydra_down, tenant):
    response = console("member").get(reverse("console:devtools:flow"))
    assert response.status_code == 503 and "Hydra" in response.content.decode()
