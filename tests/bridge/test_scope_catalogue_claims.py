"""Which claims a grant releases (bridge.flows.consent.token_claims, truss.claims.build): the standard ones per
standard scope (OIDC Core §5.4), the tenant's templates unless a scope of its catalogue lists them and was not
granted."""

from __future__ import annotations

import pytest

from bridge.flows.consent import token_claims
from oauth2_admin.scopes.models import Scope
from truss import claims
from truss.models import ClaimsConfig
from truss.ory import kratos

IDENTITY = kratos.Identity.model_validate(
    {
        "id": "u1",
        "traits": {
            "email": "a@example.test",
            "name": "A",
            "address": {"street_address": "1 Main St", "locality": "Bern", "country": "CH", "x": "y"},
            "phone_number": "+41 44 000 00 00",
        },
        "metadata_public": {"org": "acme", "plan": "gold"},
        "verifiable_addresses": [
            {"value": "a@example.test", "verified": True, "via": "email"},
            {"value": "+41 44 000 00 00", "verified": True, "via": "sms"},
        ],
    }
)


def test_it_fills_the_address_and_phone_claims_only_for_their_scopes():
    assert claims.build(IDENTITY, ["openid"], {}, {}).id_token == {}
    assert claims.build(IDENTITY, ["openid", "address", "phone"], {}, {}).id_token == {
        "address": {"street_address": "1 Main St", "locality": "Bern", "country": "CH"},
        "phone_number": "+41 44 000 00 00",
        "phone_number_verified": True,
    }
    text = IDENTITY.model_copy(update={"traits": {"address": "1 Main St, Bern", "phone": "+1 555"}})
    assert claims.build(text, ["address", "phone"], {}, {}).id_token == {
        "address": {"formatted": "1 Main St, Bern"},
        "phone_number": "+1 555",
        "phone_number_verified": False,
    }


def test_it_verifies_a_phone_number_only_through_a_verified_sms_address():
    # The email address is verified, but an email address does not verify a phone number of the same text.
    odd = IDENTITY.model_copy(
        update={
            "traits": {"phone_number": "a@example.test"},
            "verifiable_addresses": IDENTITY.verifiable_addresses[:1],
        }
    )
    assert claims.build(odd, ["phone"], {}, {}).id_token["phone_number_verified"] is False


@pytest.mark.django_db
def test_it_withholds_a_template_a_scope_lists_until_that_scope_is_granted(make_tenant):
    tenant = make_tenant()
    ClaimsConfig.objects.create(
        tenant=tenant,
        id_token_claims={
            "org": "{{metadata_public.org}}",
            "plan": "{{metadata_public.plan}}",
            "who": "{{id}}",
        },
        access_token_claims={"org": "{{metadata_public.org}}", "plan": "{{metadata_public.plan}}"},
    )
    Scope.objects.create(tenant=tenant, name="org.read", title_en="Org", description_en="Org", claims=["org"])
    Scope.objects.create(
        tenant=tenant, name="billing", title_en="Bill", description_en="Bill", claims=["plan", "org"]
    )

    bare = token_claims(tenant, "u1", ["openid"], IDENTITY)
    assert (bare.id_token, bare.access_token) == ({"who": "u1"}, {})
    org = token_claims(tenant, "u1", ["openid", "org.read", "email"], IDENTITY)
    assert org.id_token == {"org": "acme", "who": "u1", "email": "a@example.test", "email_verified": True}
    assert org.access_token == {"org": "acme"}
    billing = token_claims(tenant, "u1", ["openid", "billing"], IDENTITY)
    assert billing.id_token == {"org": "acme", "plan": "gold", "who": "u1"}
    assert billing.access_token == {"org": "acme", "plan": "gold"}
