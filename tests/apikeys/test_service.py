from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from truss import apikeys
from truss.models import ApiKey

pytestmark = pytest.mark.django_db


class TestApiKeys:
    def test_it_stores_only_a_digest_of_the_key(self, tenant):
        key, raw = apikeys.generate(tenant, "service_role")
        assert raw.startswith("truss_sk_") and len(raw) == len("truss_sk_") + 48
        stored = ApiKey.objects.filter(pk=key.pk).values().get()
        assert raw not in {str(v) for v in stored.values()}
        assert stored["digest"] == hashlib.sha256(raw.encode()).hexdigest()
        assert raw.startswith(stored["prefix"])

    def test_it_authenticates_the_exact_key(self, tenant):
        key, raw = apikeys.generate(tenant, "anon")
        assert apikeys.authenticate(raw) == key
        assert apikeys.authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None

    @pytest.mark.parametrize(
        "raw", [None, "", "truss_sk_short", "Bearer x", "truss_pk_" + "a" * 48, "truss_sk_" + "!" * 48]
    )
    def test_it_rejects_malformed_keys(self, raw):
        assert apikeys.authenticate(raw) is None

    def test_it_rejects_a_revoked_key(self, tenant):
        key, raw = apikeys.generate(tenant, "service_role")
        apikeys.revoke(key)
        assert apikeys.authenticate(raw) is None

    def test_it_records_the_last_use_at_most_once_a_minute(self, tenant):
        key, raw = apikeys.generate(tenant, "service_role")
        apikeys.authenticate(raw)
        first = ApiKey.objects.get(pk=key.pk).last_used_at
        assert first is not None
        apikeys.authenticate(raw)
        assert ApiKey.objects.get(pk=key.pk).last_used_at == first
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
        apikeys.authenticate(raw)
        assert ApiKey.objects.get(pk=key.pk).last_used_at > first
