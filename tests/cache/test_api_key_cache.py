"""API keys come from the shared cache when there is one (truss/authcache.py): the row and its tenant in one cache
read instead of a query, and a revocation stops the key at once in every process on the same cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures.second_process import OtherProcess, database_url, other_process
from truss import apikeys
from truss.models import ApiKey, ClaimsConfig, Tenant

pytestmark = pytest.mark.usefixtures("brief_tombstones")
ROOT = Path(__file__).resolve().parents[2]


def _key_queries(call: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        result = call()
    return result, sum("truss_apikey" in q["sql"] for q in queries)


@pytest.mark.django_db
def test_it_reads_a_known_key_from_the_shared_cache_and_stops_a_revoked_one_at_once(shared_cache, tenant):
    key, raw = apikeys.generate(tenant, "service_role")
    apikeys.authenticate(raw)  # first use: loaded, cached (and last_used_at written, which drops the entry)
    apikeys.authenticate(raw)
    found, queries = _key_queries(lambda: apikeys.authenticate(raw))
    assert found is not None and found.pk == key.pk and found.tenant.slug == tenant.slug and queries == 0
    apikeys.revoke(ApiKey.objects.get(pk=key.pk))
    assert apikeys.authenticate(raw) is None


@pytest.mark.django_db
def test_it_never_caches_with_a_per_process_cache(settings, tenant):
    assert settings.SHARED_CACHE is False
    _, raw = apikeys.generate(tenant, "service_role")
    apikeys.authenticate(raw)  # the first use also writes last_used_at
    for _ in range(3):
        found, queries = _key_queries(lambda: apikeys.authenticate(raw))
        assert found is not None and queries == 1


@pytest.mark.django_db
def test_it_sees_a_tenants_new_claims_configuration_through_a_cached_key(shared_cache, tenant):
    _, raw = apikeys.generate(tenant, "service_role")
    for _ in range(3):
        apikeys.authenticate(raw)
    ClaimsConfig.objects.create(tenant=tenant, id_token_claims={"org": "{{metadata_public.org}}"})
    Tenant.objects.filter(pk=tenant.pk).update(
        name="renamed quietly"
    )  # bypasses signals: not seen, as documented
    found = apikeys.authenticate(raw)
    assert found is not None and found.tenant.claims_config.id_token_claims == {
        "org": "{{metadata_public.org}}"
    }


# Another process on the same cache and database: for each raw key on stdin it prints whether the key
# authenticates and how many queries on the key table that took.
_OTHER = """
import sys, django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext
from truss import apikeys
for line in sys.stdin:
    with CaptureQueriesContext(connection) as queries:
        found = apikeys.authenticate(line.strip())
    print("ok" if found else "refused", sum("truss_apikey" in q["sql"] for q in queries), flush=True)
"""


@pytest.fixture
def other(shared_cache: Path) -> Iterator[OtherProcess]:
    with other_process(_OTHER, shared_cache, database=database_url()) as proc:
        yield proc


@pytest.mark.django_db(transaction=True)  # the other process must see this one's rows
def test_a_revocation_in_one_process_stops_the_key_in_another_at_once(other):
    tenant = Tenant.objects.create(slug="two-processes-keys", name="Two Processes")
    key, raw = apikeys.generate(tenant, "service_role")
    apikeys.authenticate(raw)  # loads and caches the key (and writes last_used_at: nothing left to write)
    assert other.ask(raw) == "ok 0"  # the other process finds it in the shared cache
    apikeys.revoke(key)  # in this process …
    assert other.ask(raw) == "refused 1"  # … and the other one refuses it on its very next request


@pytest.mark.django_db
def test_it_writes_last_used_at_at_most_once_a_minute_although_the_cached_row_keeps_the_old_time(
    shared_cache, tenant
):
    _, raw = apikeys.generate(tenant, "service_role")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert apikeys.authenticate(raw) is not None
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "last_used_at" in q["sql"]]
    assert len(writes) == 1
    assert ApiKey.objects.get(prefix=raw[:17]).last_used_at is not None
