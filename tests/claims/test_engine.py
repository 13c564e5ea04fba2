"""The claims engine (truss/claims.py): templates, standard claims per scope, validation."""

from __future__ import annotations

import pytest

from truss import claims
from truss.ory import kratos

IDENTITY = kratos.Identity.model_validate(
    {
        "id": "7d0e1b7c-0000-4000-8000-000000000001",
        "traits": {"email": "ada@example.test", "name": "Ada", "address": {"city": "London"}},
        "metadata_public": {"org_id": 42, "roles": ["admin", "dev"], "tenant_id": "acme"},
        "verifiable_addresses": [{"value": "ada@example.test", "verified": True, "via": "email"}],
    }
)


def test_it_keeps_json_types_for_whole_placeholders_and_interpolates_text():
    config = {
        "org": "{{metadata_public.org_id}}",
        "roles": "{{ metadata_public.roles }}",
        "city": "{{traits.address.city}}",
        "label": "{{traits.name}} <{{traits.email}}> in {{metadata_public.org_id}}",
        "uid": "{{id}}",
        "plain": "constant",
    }
    assert claims.render(config, claims.identity_context(IDENTITY)) == {
        "org": 42,
        "roles": ["admin", "dev"],
        "city": "London",
        "label": "Ada <ada@example.test> in 42",
        "uid": IDENTITY.id,
        "plain": "constant",
    }


def test_it_leaves_out_claims_whose_variables_do_not_resolve():
    config = {"missing": "{{traits.nickname}}", "half": "Hi {{traits.nickname}}", "ok": "{{traits.name}}"}
    assert claims.render(config, claims.identity_context(IDENTITY)) == {"ok": "Ada"}


def test_it_adds_standard_claims_only_for_granted_scopes():
    built = claims.build(
        IDENTITY,
        ["openid", "email"],
        {"org": "{{metadata_public.org_id}}"},
        {"t": "{{metadata_public.tenant_id}}"},
    )
    assert built.id_token == {"email": "ada@example.test", "email_verified": True, "org": 42}
    assert built.access_token == {"t": "acme"}
    assert "name" in claims.build(IDENTITY, ["profile"], {}, {}).id_token


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"sub": "{{id}}"}, "set by Hydra"),
        ({"x": "{{metadata_admin.secret}}"}, "Unknown variable"),
        ({"x": "{{traits.email"}, "Unbalanced"),
        ({"bad name": "{{id}}"}, "Claim names"),
        ({"x": 5}, "must be a string"),
        ({"x": "a" * 501}, "At most 500"),
    ],
)
def test_it_refuses_invalid_templates(config, problem):
    errors = claims.validate("id_token_claims", config)
    assert any(problem in message for messages in errors.values() for message in messages), errors


def test_it_reserves_access_token_claims_separately():
    assert claims.validate("access_token_claims", {"scp": "x"})
    assert claims.validate("access_token_claims", {"email": "{{traits.email}}"}) == {}
    assert claims.validate("id_token_claims", []) == {
        "id_token_claims": ["Must be a JSON object of claim name to template."]
    }
