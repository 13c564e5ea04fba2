"""The API key lookup, written out (truss/apikeys.py): the same key, with the same values, as the ORM loads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from truss import apikeys, sql
from truss.models import ApiKey

pytestmark = pytest.mark.django_db


def _orm(prefix: str) -> ApiKey | None:
    return ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()


def test_it_loads_each_key_as_the_orm_does(tenant, other_tenant):
    used, _ = apikeys.generate(tenant, "service_role", name="déploiement ✓")
    ApiKey.objects.filter(pk=used.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=3, microseconds=7)
    )
    revoked, _ = apikeys.generate(other_tenant, "anon")
    apikeys.revoke(revoked)
    fresh, _ = apikeys.generate(tenant, "anon")
    for key in (used, revoked, fresh):
        written, orm = apikeys._load(key.prefix), _orm(key.prefix)
        assert written is not None and orm is not None
        for field in apikeys._KEY_FIELDS:
            name = ApiKey._meta.get_field(field).attname
            assert getattr(written, name) == getattr(orm, name), field
        assert written.tenant.slug == orm.tenant.slug and written.is_active == orm.is_active
        assert written.last_used_at is None or written.last_used_at.tzinfo is not None  # aware, as the ORM's
    assert apikeys._load("truss_sk_nosuchkey") is None and _orm("truss_sk_nosuchkey") is None


def test_its_statement_quotes_every_name_the_same_way():
    statement, _ = apikeys._lookup()
    k = sql.names(ApiKey)
    assert f"FROM {k.table} k" in statement and f"k.{k.c['prefix']} = %s" in statement
