"""The per-tenant configuration cache (Tenant.cached): one query on a miss, none on a hit, and an edit made by
one app process is seen by another at once, because invalidation goes through the shared cache backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.flows.consent import token_claims
from tests.fixtures.second_process import OtherProcess, database_url, other_process
from truss.caching import tenant_key as _tenant_key
from truss.models import ClaimsConfig, Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("brief_tombstones")]

ROOT = Path(__file__).resolve().parents[2]

# The other app process: same settings and the same shared cache backend; it answers what a bridge hop in
# that process would find in the cache for a key: "MISS" (it would read the database) or the cached values.
_OTHER = """
import sys, django
django.setup()
from django.core.cache import cache
for line in sys.stdin:
    hit = cache.get(line.strip())
    if hit is None or hit == "truss:cache:forgotten":  # a write's tombstone: read the database
        print("MISS", flush=True)
    elif hit[0] is None:
        print("NONE", flush=True)
    else:
        tenant = hit[0]
        config = getattr(tenant, "_state").fields_cache.get("claims_config")
        print(tenant.name, config.id_token_claims if config else {}, flush=True)
"""


@pytest.fixture
def other(shared_cache: Path) -> Iterator[OtherProcess]:
    # It never reaches the database here: it only reports what the shared cache tells it.
    with other_process(_OTHER, shared_cache) as proc:
        yield proc


def test_it_reads_the_tenant_and_its_claims_in_one_query_then_from_the_cache(
    shared_cache, make_tenant, django_assert_num_queries
):
    tenant = make_tenant()
    ClaimsConfig.objects.create(tenant=tenant, id_token_claims={"org": "{{metadata_public.org}}"})
    with django_assert_num_queries(1):
        first = Tenant.for_owner(tenant.hydra_owner)
        assert first is not None and first.claims_config.id_token_claims == {"org": "{{metadata_public.org}}"}
    with django_assert_num_queries(0):
        again = Tenant.for_owner(tenant.hydra_owner)
        assert again is not None and again.pk == tenant.pk
        assert again.claims_config.id_token_claims == {"org": "{{metadata_public.org}}"}
    with django_assert_num_queries(1):
        assert Tenant.for_owner("truss:nobody") is None
    with django_assert_num_queries(0):
        assert Tenant.for_owner("truss:nobody") is None  # the absence is cached too
        assert Tenant.for_owner("not-ours") is None


def test_an_edit_in_one_process_is_seen_by_the_other_at_once(other, make_tenant):
    tenant = make_tenant(name="Old Name")
    key = _tenant_key(tenant.slug)
    assert other.ask(key) == "MISS"
    Tenant.for_owner(tenant.hydra_owner)  # this process serves a hop: the cache now holds the tenant
    assert other.ask(key) == "Old Name {}"

    tenant.name = "New Name"
    tenant.save()  # an operator edits the tenant here …
    assert other.ask(key) == "MISS"  # … and the other process reads it afresh at once
    assert Tenant.for_owner(tenant.hydra_owner).name == "New Name"  # type: ignore[union-attr]
    assert other.ask(key) == "New Name {}"

    config = ClaimsConfig.objects.create(tenant=tenant, id_token_claims={"a": "{{id}}"})
    assert other.ask(key) == "MISS"
    Tenant.for_owner(tenant.hydra_owner)
    assert other.ask(key) == "New Name {'a': '{{id}}'}"
    config.id_token_claims = {"b": "{{traits.email}}"}
    config.save()
    assert other.ask(key) == "MISS"
    Tenant.for_owner(tenant.hydra_owner)
    assert other.ask(key) == "New Name {'b': '{{traits.email}}'}"

    config.delete()
    assert other.ask(key) == "MISS"
    old_slug = tenant.slug
    Tenant.for_owner(tenant.hydra_owner)
    tenant.slug = f"{old_slug}-renamed"
    tenant.save()
    assert other.ask(_tenant_key(old_slug)) == "MISS"
    assert Tenant.for_owner(f"truss:{old_slug}") is None
    tenant.delete()
    assert other.ask(_tenant_key(tenant.slug)) == "MISS"


def test_the_bridge_claims_follow_an_edit_at_once(shared_cache, make_tenant):
    from truss.ory import kratos

    tenant = make_tenant()
    identity = kratos.Identity.model_validate(
        {
            "id": "u1",
            "schema_id": "default",
            "traits": {"email": "a@example.test", "name": "A"},
            "metadata_public": {"org": "acme"},
        }
    )
    config = ClaimsConfig.objects.create(tenant=tenant, id_token_claims={"org": "{{metadata_public.org}}"})
    cached = Tenant.for_owner(tenant.hydra_owner)
    assert token_claims(cached, "u1", ["openid"], identity).id_token == {"org": "acme"}
    config.id_token_claims = {"who": "{{traits.name}}"}
    config.save()
    cached = Tenant.for_owner(tenant.hydra_owner)
    assert token_claims(cached, "u1", ["openid"], identity).id_token == {"who": "A"}


_READER = """
import sys, django
django.setup()
from truss.models import Tenant
for line in sys.stdin:
    tenant = Tenant.cached(line.strip())
    config = getattr(tenant, "claims_config", None)
    print(tenant.name, config.id_token_claims if config else {}, flush=True)
"""


@pytest.mark.django_db(transaction=True)  # the other process must see this one's rows
def test_it_caches_no_tenant_in_a_per_process_cache_so_another_worker_sees_an_edit_at_once(
    tmp_path, make_tenant
):
    """The default CACHE_URL is per process: a write here cannot remove an entry from another worker's memory."""
    tenant = make_tenant(name="Old Name")
    config = ClaimsConfig.objects.create(tenant=tenant, id_token_claims={"a": "{{id}}"})
    with other_process(_READER, tmp_path, database=database_url(), cache_url="locmemcache://") as worker:
        assert worker.ask(tenant.slug) == "Old Name {'a': '{{id}}'}"
        tenant.name = "New Name"
        tenant.save()
        config.id_token_claims = {"b": "{{traits.email}}"}
        config.save()
        assert worker.ask(tenant.slug) == "New Name {'b': '{{traits.email}}'}"
