"""Every rule fires on a client built to break it and stays silent on a clean one; every fix clears its rule in
Hydra. Clients are real Hydra clients created through Truss's client service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene.models import Thresholds
from tests.fixtures.ory import in_hydra
from tests.hygiene.conftest import change_in_hydra
from truss import audit
from truss.models import AuditEvent
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# rule id → (client changes, token settings, days from now the linter looks at the client)
BREAKERS: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {
    "implicit-grant": (
        {
            "grant_types": ["authorization_code", "implicit", "refresh_token"],
            "response_types": ["code", "token", "code id_token"],
        },
        {},
        0,
    ),
    "public-client-pkce": ({"token_endpoint_auth_method": "none"}, {}, 0),
    "redirect-http": ({"redirect_uris": ["https://app.example.com/cb", "http://app.example.com/cb"]}, {}, 0),
    "redirect-pattern": (
        {"redirect_uris": ["https://app.example.com/cb", "https://*.example.com/cb"]},
        {},
        0,
    ),
    "client-secret-post": ({"token_endpoint_auth_method": "client_secret_post"}, {}, 0),
    "secret-age": ({}, {}, 200),
    "refresh-token-lifespan": ({}, {"refresh_token_ttl": 90 * 86400}, 0),
    "access-token-lifespan": ({}, {"access_token_ttl": 7200}, 0),
    "jwt-access-token-lifespan": ({"access_token_strategy": "jwt"}, {}, 0),
    "skip-consent-foreign": (
        {
            "skip_consent": True,
            "redirect_uris": ["https://app.example.com/cb", "https://partner.example.net/cb"],
        },
        {},
        0,
    ),
    "idle-client": ({}, {}, 100),
    "logout-no-post-redirect": ({"post_logout_redirect_uris": []}, {}, 0),
    "metadata-http": ({"logo_uri": "http://app.example.com/logo.png"}, {}, 0),
    "scope-not-in-catalogue": ({"scope": "openid made-up:scope offline_access"}, {}, 0),
}
# Rules about settings Truss refuses to write: their breaking client comes from outside Truss (Hydra's admin API,
# an older Truss), modelled as a clean client's Hydra record with the bad setting.
OUTSIDE: dict[str, dict[str, Any]] = {
    "redirect-scheme": {"redirect_uris": ["https://app.example.com/cb", "ftp://x"]},
    "fetch-internal-host": {"request_uris": ["http://127.0.0.1:4445/admin/keys/hydra.openid.id-token"]},
}
FIXABLE = [
    "implicit-grant",
    "client-secret-post",
    "refresh-token-lifespan",
    "access-token-lifespan",
    "jwt-access-token-lifespan",
    "skip-consent-foreign",
    "scope-not-in-catalogue",
]


def rules_of(tenant: Any, client: hydra.OAuth2Client, days: int = 0) -> set[str]:
    now = timezone.now() + timedelta(days=days)
    return {f.rule for f in hygiene.findings_for(tenant, client, now=now)}


def test_it_has_a_breaker_for_every_rule() -> None:
    assert set(BREAKERS) | set(OUTSIDE) == set(hygiene.RULES_BY_ID)
    assert all(rule.reason.count("§") >= 1 and rule.severity in hygiene.SEVERITIES for rule in hygiene.RULES)


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_it_fires_on_a_breaking_client_and_not_on_a_clean_one(rule, tenant, make_client, settings):
    settings.HYDRA_PKCE_ENFORCED = "off"
    changes, tokens, days = BREAKERS[rule]
    clean, broken = make_client(), make_client(changes, tokens)
    assert rule in rules_of(tenant, broken, days), hygiene.findings_for(tenant, broken)
    assert rule not in rules_of(tenant, clean, days if rule not in ("secret-age", "idle-client") else 0)
    assert rules_of(tenant, clean) == set()


def test_it_trusts_hydras_pkce_setting(tenant, make_client, settings):
    public = make_client({"token_endpoint_auth_method": "none"})
    settings.HYDRA_PKCE_ENFORCED = "public"
    assert "public-client-pkce" not in rules_of(tenant, public)


def test_it_says_before_truss_for_a_secret_truss_never_set(tenant, make_hydra_client):
    outside = hydra.OAuth2Client.model_validate(make_hydra_client(owner=tenant.hydra_owner))
    finding = next(f for f in hygiene.findings_for(tenant, outside) if f.rule == "secret-age")
    assert "before Truss" in finding.detail


def test_it_counts_a_rotation_as_a_new_secret(tenant, make_client):
    from oauth2_admin.clients import service as clients

    client = make_client()
    created = hygiene.facts_for(tenant, [client.client_id]).secret_set_at[client.client_id]
    clients.rotate_secret(None, tenant, client.client_id)
    rotated = AuditEvent.objects.filter(target=client.client_id, action="oauth2.client.rotate_secret").get()
    assert hygiene.facts_for(tenant, [client.client_id]).secret_set_at[client.client_id] == rotated.created_at
    assert rotated.created_at > created


def test_it_sees_a_recent_consent_as_use(tenant, make_client):
    client = make_client()
    assert "idle-client" in rules_of(tenant, client, 100)
    audit.record(None, "bridge.consent.accept", tenant=tenant, target=client.client_id)
    assert "idle-client" not in rules_of(tenant, client, 30)


def test_it_allows_skip_consent_for_the_tenants_own_hosts(tenant, make_client):
    client = make_client(BREAKERS["skip-consent-foreign"][0])
    Thresholds.objects.create(tenant=tenant, own_hosts=["app.example.com", "partner.example.net"])
    assert "skip-consent-foreign" not in rules_of(tenant, client)


def test_it_flags_a_fragment_even_though_hydra_refuses_one(tenant):
    client = hydra.OAuth2Client(client_id="x", redirect_uris=["https://app.example.com/cb#frag"])
    assert "redirect-pattern" in {
        f.rule for f in hygiene.lint(client, hygiene.Facts(Thresholds(), timezone.now()))
    }


def test_it_scores_by_severity(tenant, make_client):
    broken = make_client(
        {"token_endpoint_auth_method": "client_secret_post", "logo_uri": "http://x.example/l.png"}
    )
    found = hygiene.findings_for(tenant, broken)
    assert hygiene.score(found) == 100 - 4 - 4
    assert hygiene.score(hygiene.findings_for(tenant, make_client())) == 100


@pytest.mark.parametrize("rule", FIXABLE)
def test_it_fixes_and_the_rule_no_longer_fires(rule, ory, tenant, make_client):
    changes, tokens, days = BREAKERS[rule]
    broken = make_client(changes, tokens)
    before = AuditEvent.objects.filter(target=broken.client_id).count()
    hygiene.apply_fix(None, tenant, broken.client_id, rule, if_match=None)
    stored = hydra.OAuth2Client.model_validate(in_hydra(ory, broken.client_id))
    assert rule not in rules_of(tenant, stored, days)
    assert stored.client_name == broken.client_name and stored.redirect_uris  # nothing else lost
    events = AuditEvent.objects.filter(target=broken.client_id).order_by("id")[before:]
    assert [(e.action, e.outcome) for e in events] in (
        [("oauth2.client.update", "success")],
        [("oauth2.client.token_config", "success")],
    )


def test_it_refuses_a_fix_for_a_rule_that_does_not_fire(tenant, make_client):
    clean = make_client()
    with pytest.raises(hygiene.NoFix):
        hygiene.apply_fix(None, tenant, clean.client_id, "client-secret-post", if_match=None)
    with pytest.raises(hygiene.NoFix):
        hygiene.fix_for(tenant, clean, "no-such-rule")


def test_it_offers_findings_as_warnings(tenant, make_client):
    broken = make_client({"token_endpoint_auth_method": "client_secret_post"})
    warnings = hygiene.findings_as_warnings(broken)
    assert any("client-secret-post" in w and "RFC 9700 §2.5" in w for w in warnings)
    assert hygiene.findings_as_warnings(make_client()) == []


def outside(ory: Any, client: hydra.OAuth2Client, **changes: Any) -> hydra.OAuth2Client:
    return hydra.OAuth2Client.model_validate({**in_hydra(ory, client.client_id), **changes})


@pytest.mark.parametrize("rule", sorted(OUTSIDE))
def test_it_fires_high_on_a_client_truss_would_refuse(rule, ory, tenant, make_client):
    clean = make_client()
    broken = outside(ory, clean, **OUTSIDE[rule])
    finding = next(f for f in hygiene.findings_for(tenant, broken) if f.rule == rule)
    assert finding.severity == "high" and finding.fix is None
    assert rule not in rules_of(tenant, clean)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("jwks_uri", "http://127.0.0.1:4445/admin/keys/x", "loopback"),
        ("jwks_uri", "http://2130706433/keys", "loopback"),
        ("sector_identifier_uri", "http://169.254.169.254/latest/meta-data/", "link-local"),
        ("backchannel_logout_uri", "http://[::ffff:10.0.0.1]/bc", "private"),
        ("backchannel_logout_uri", "http://100.64.1.1/bc", "carrier-grade NAT"),
        ("request_uris", ["https://app.example.com/r", "http://localhost:8080/r"], "resolves locally"),
        ("request_uris", ["http://[fd00::1]/r"], "private"),
    ],
)
def test_it_names_the_field_and_host_hydra_would_fetch(field, value, shown, ory, tenant, make_client):
    broken = outside(ory, make_client(), **{field: value})
    finding = next(f for f in hygiene.findings_for(tenant, broken) if f.rule == "fetch-internal-host")
    assert field in finding.detail and shown in finding.detail, finding.detail
    assert "https://app.example.com/r" not in finding.detail


def test_it_scores_an_ftp_redirect_made_in_hydra_below_100(ory, tenant, make_client):
    client = make_client()
    assert hygiene.score(hygiene.findings_for(tenant, client)) == 100
    change_in_hydra(ory, client.client_id, redirect_uris=["https://app.example.com/cb", "ftp://x"])
    stored = hydra.OAuth2Client.model_validate(in_hydra(ory, client.client_id))
    found = hygiene.findings_for(tenant, stored)
    assert [f.rule for f in found] == ["redirect-scheme"] and "ftp://x" in found[0].detail
    assert hygiene.score(found) == 100 - hygiene.SEVERITY_WEIGHT["high"]
