"""The session, the signed-in user and their tenants come from Django's cache when (and only when) every process
shares it (settings.SHARED_CACHE, truss/authcache.py); a logout, a password change, a deactivated user, a removed
membership or a new role takes effect at once, in this process and in another one on the same cache."""

from __future__ import annotations

import runpy
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import environ
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures.second_process import OtherProcess, database_url, other_process
from truss.caching import tenants_key, user_key
from truss.models import Membership, Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("brief_tombstones")]

ROOT = Path(__file__).resolve().parents[2]
CACHED_DB = "django.contrib.sessions.backends.cached_db"
# What every request asked the database for before the view ran: the session, the user, their memberships (a
# platform admin's tenants: every tenant).
AUTH_TABLES = ("django_session", "auth_user", "truss_membership", "truss_tenant")
AUDIT_LOG = "console:audit:log"  # a console page that needs no Hydra


@pytest.fixture
def shared_cache(shared_cache: Path, settings: Any) -> Path:
    """The shared cache (tests/fixtures/second_process.py), with sessions in it as in production."""
    settings.SESSION_ENGINE = CACHED_DB
    return shared_cache


def signed_in(user: User) -> Client:
    """A browser signed in as `user`, under the session engine configured now (create it after the settings)."""
    client = Client()
    client.force_login(user)
    return client


def warmed(client: Client, page: str = AUDIT_LOG) -> Client:
    # The second request records the operator's tenant in the session; from the third on nothing is written.
    for _ in range(2):
        assert client.get(reverse(page)).status_code == 200
    return client


def auth_queries(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries if any(f'"{table}"' in q["sql"] for table in AUTH_TABLES)]


@pytest.mark.parametrize("who", ["operator", "platform admin"])
def test_it_makes_three_fewer_queries_per_console_request_with_a_shared_cache(
    request, settings, make_operator, tenant, make_tenant, who
):
    make_tenant()  # a platform admin sees every tenant; the operator only theirs

    def steady_request() -> list[dict[str, str]]:
        if who == "operator":
            user = make_operator(tenant, "viewer")
        else:
            user = User.objects.create_superuser(f"root-{uuid.uuid4().hex[:8]}", password="pw-for-tests-123")
        client = warmed(signed_in(user))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(AUDIT_LOG)).status_code == 200
        return list(queries.captured_queries)  # a copy: the next request resets the connection's log

    assert settings.SHARED_CACHE is False  # the test default: per-process LocMemCache
    per_process = steady_request()
    assert len(auth_queries(per_process)) == 3, auth_queries(per_process)

    request.getfixturevalue("shared_cache")  # from here on: a shared cache, cached_db sessions
    shared = steady_request()
    assert auth_queries(shared) == []
    assert len(per_process) - len(shared) == 3


def test_it_refuses_an_operator_at_once_when_their_membership_is_removed(shared_cache, make_operator, tenant):
    user = make_operator(tenant, "admin")
    client = warmed(signed_in(user))
    Membership.objects.get(user=user, tenant=tenant).delete()
    response = client.get(reverse(AUDIT_LOG))
    assert response.status_code == 403 and b"No tenant yet" in response.content


def test_it_applies_a_role_change_at_once(shared_cache, make_operator, tenant):
    user = make_operator(tenant, "admin")
    client = warmed(signed_in(user), "console:apikeys:list")
    membership = Membership.objects.get(user=user, tenant=tenant)
    membership.role = "viewer"
    membership.save()
    assert client.get(reverse("console:apikeys:list")).status_code == 403
    membership.role = "admin"
    membership.save()
    assert client.get(reverse("console:apikeys:list")).status_code == 200


def _change_password(user: User) -> None:
    user.set_password("a-new-password-4567")
    user.save()


def _deactivate(user: User) -> None:
    user.is_active = False
    user.save()


@pytest.mark.parametrize("change", [_change_password, _deactivate], ids=["password change", "deactivation"])
def test_it_signs_the_operator_out_at_once_after_a_password_change_or_a_deactivation(
    shared_cache, make_operator, tenant, change: Callable[[User], None]
):
    user = make_operator(tenant, "admin")
    client = warmed(signed_in(user))
    change(User.objects.get(pk=user.pk))  # as the admin site or a management command would, elsewhere
    response = client.get(reverse(AUDIT_LOG))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_shows_a_new_renamed_or_deleted_tenant_at_once_to_members_and_platform_admins(
    shared_cache, make_operator, tenant, make_tenant
):
    member = warmed(signed_in(make_operator(tenant, "viewer")))
    root = warmed(signed_in(User.objects.create_superuser("root", password="pw-for-tests-123")))
    newcomer = make_tenant(name="Newcomer Ltd")
    assert b"Newcomer Ltd" in root.get(reverse(AUDIT_LOG)).content  # the tenant switcher lists it

    tenant.name = "Acme Renamed"
    tenant.save()
    assert b"Acme Renamed" in member.get(reverse(AUDIT_LOG)).content
    assert b"Acme Renamed" in root.get(reverse(AUDIT_LOG)).content

    newcomer.delete()
    assert b"Newcomer Ltd" not in root.get(reverse(AUDIT_LOG)).content


def test_it_caches_nothing_about_sign_in_with_a_per_process_cache(make_operator, tenant):
    assert django_settings.SHARED_CACHE is False
    assert django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    user = make_operator(tenant, "viewer")
    client = warmed(signed_in(user))
    assert cache.get(user_key(user.pk)) is None and cache.get(tenants_key(user.pk)) is None
    assert not [key for key in cache._cache if "sessions" in key]  # type: ignore[attr-defined]  # LocMemCache
    Membership.objects.filter(user=user).delete()
    assert client.get(reverse(AUDIT_LOG)).status_code == 403


@pytest.mark.parametrize(
    ("cache_url", "override", "shared"),
    [
        ("locmemcache://", None, False),
        ("dummycache://", None, False),
        ("redis://127.0.0.1:6379/0", None, True),
        ("filecache:///var/tmp/truss-cache", None, True),
        ("redis://127.0.0.1:6379/0", "false", False),  # TRUSS_SHARED_CACHE wins either way
        ("locmemcache://", "true", True),
    ],
)
def test_it_counts_only_a_cache_every_process_shares_as_shared(
    monkeypatch, tmp_path, cache_url, override, shared
):
    environment = {key: value for key, value in environ.Env.ENVIRON.items() if key != "TRUSS_SHARED_CACHE"}
    environment["CACHE_URL"] = cache_url
    if override is not None:
        environment["TRUSS_SHARED_CACHE"] = override
    monkeypatch.setattr(environ.Env, "ENVIRON", environment)  # what settings.py reads (tests/settings.py)
    values = runpy.run_path(str(ROOT / "truss" / "settings.py"))
    assert values["SHARED_CACHE"] is shared
    assert values["SESSION_ENGINE"] == (CACHED_DB if shared else "django.contrib.sessions.backends.db")
    assert values["AUTHENTICATION_BACKENDS"] == ["truss.authcache.CachedModelBackend"]


# --- Two processes --------------------------------------------------------------------------------------------

# The other app process: same settings, the same database and the same shared cache. For each session cookie it
# is given it serves the audit log page and answers the status, where it redirected to and how many of its
# queries read the session, the user or the memberships (0: all three came from the shared cache).
_OTHER = """
import sys, django
django.setup()
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
for line in sys.stdin:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = line.strip()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/console/audit/")
    auth = sum(any(f'"{t}"' in q["sql"] for t in ("django_session", "auth_user", "truss_membership")) for q in queries)
    print(response.status_code, response.get("Location", "-").split("?")[0], auth, flush=True)
"""


@pytest.fixture
def other(shared_cache: Path) -> Iterator[OtherProcess]:
    with other_process(_OTHER, shared_cache, database=database_url()) as proc:
        yield proc


def _log_out(client: Client, user: User) -> None:
    assert client.post(reverse("logout")).status_code == 302


def _remove_membership(client: Client, user: User) -> None:
    Membership.objects.filter(user=user).delete()


def _change_password_of(client: Client, user: User) -> None:
    _change_password(user)


@pytest.mark.django_db(transaction=True)  # the other process must see this one's rows
@pytest.mark.parametrize(
    ("revoke", "then"),
    [
        (_log_out, "302 /login/"),
        (_change_password_of, "302 /login/"),
        (_remove_membership, "403 -"),  # "No tenant yet"
    ],
    ids=["logout", "password change", "removed membership"],
)
def test_it_revokes_in_another_process_at_once(other, make_operator, revoke, then):
    tenant = Tenant.objects.create(slug="two-processes", name="Two Processes")
    user = make_operator(tenant, "viewer")
    client = warmed(signed_in(user))
    session_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert other.ask(session_key) == "200 - 0"  # session, user and tenants from the shared cache
    revoke(client, user)  # in this process …
    status_and_location = other.ask(session_key).rsplit(" ", 1)[0]
    assert status_and_location == then  # … and the other one follows on its very next request
