"""The signed-in operator and their tenants from Django's cache, when the cache is shared by every process.

Every console page and session-authenticated API call needs the session (``SESSION_ENGINE`` is
``cached_db`` then, see settings), the user (``CachedModelBackend.get_user``) and the operator's
(tenant, role) pairs (``cached_tenants``, used by ``truss.tenancy.tenants_for``); every API-key call needs the
key's row and tenant (``truss.apikeys.authenticate``, 10 s TTL). With ``SHARED_CACHE`` they
are one cache read each instead of a database query each; without it nothing here is cached, because an
entry in one worker's memory could not be deleted by a write in another.

Every save or delete of a user, a membership or a tenant deletes the entries it affects through the same
cache backend, now and again once the write commits (as ``truss.models.forget_tenant`` does), so a logout,
a password change, a deactivated user, a removed membership or a new role takes effect at once in every
process. Writes that bypass the ORM's signals (``queryset.update()``, raw SQL) are bounded by the TTL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from truss import cacheguard
from truss.models import ApiKey, ClaimsConfig, Membership, Tenant

AUTH_CACHE_TTL = 300  # seconds: bounds what a write bypassing the signals could leave behind
API_KEY_TTL = 10  # seconds: short anyway, for what bypasses the signals

T = TypeVar("T")


def user_key(user_pk: Any) -> str:
    return f"truss:user:v1:{user_pk}"


def tenants_key(user_pk: Any) -> str:
    return f"truss:tenants:v1:{user_pk}"


def api_key_key(prefix: str) -> str:
    return f"truss:apikey:v1:{prefix}"


def through_cache(key: str, load: Callable[[], T | None], ttl: int = AUTH_CACHE_TTL) -> T | None:
    """`load()` through the shared cache (truss.cacheguard: writes leave tombstones); straight from `load`
    without one."""
    if not settings.SHARED_CACHE:
        return load()
    return cacheguard.read_through(key, load, ttl)


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend (same sign-in, same permissions), whose get_user reads through the shared cache.

    The cached user carries its password hash, so the session's auth hash is still checked on every request:
    a password change (which deletes the entry) signs out every other session at once."""

    def get_user(self, user_id: Any) -> User | None:
        model = get_user_model()

        def load() -> User | None:
            try:
                return model._default_manager.get(pk=user_id)
            except model.DoesNotExist:
                return None  # not cached: a session of a deleted user is rare

        user = through_cache(user_key(user_id), load)
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> User | None:
        return await sync_to_async(self.get_user)(user_id)


def cached_tenants(user_pk: Any, load: Callable[[], list[tuple[Tenant, str]]]) -> list[tuple[Tenant, str]]:
    """The operator's (tenant, role) pairs as `load()` gives them, through the shared cache."""
    return through_cache(tenants_key(user_pk), load) or []


# --- Invalidation (truss.cacheguard: tombstones now and again once the write commits) ---------------------


def forget_user(user_pk: Any) -> None:
    cacheguard.forget([user_key(user_pk), tenants_key(user_pk)])


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def _user_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) == {"last_login"}:
        return  # every sign-in saves it; nothing decides on it, so the cached user stays valid
    forget_user(instance.pk)  # password, is_active, is_superuser, …


@receiver(pre_save, sender=Membership)
def _membership_moving(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """A membership handed to another user: the previous user loses it at once too."""
    if instance.pk is not None:
        old = Membership.objects.filter(pk=instance.pk).values_list("user_id", flat=True).first()
        if old is not None and old != instance.user_id:
            cacheguard.forget([tenants_key(old)])


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    cacheguard.forget([tenants_key(instance.user_id)])


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
def _tenant_changed(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    """Every member's and every platform admin's list holds the tenant (tenant writes are rare). A deleted
    tenant's memberships are deleted first, each through `_membership_changed`."""
    members = Membership.objects.filter(tenant_id=instance.pk).values_list("user_id", flat=True)
    admins = get_user_model()._default_manager.filter(is_superuser=True).values_list("pk", flat=True)
    cacheguard.forget(tenants_key(pk) for pk in {*members, *admins})


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _api_key_changed(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    cacheguard.forget([api_key_key(instance.prefix)])  # a revocation stops the key in every process at once


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
@receiver(post_save, sender=ClaimsConfig)
@receiver(post_delete, sender=ClaimsConfig)
def _api_keys_tenant_changed(sender: Any, instance: Tenant | ClaimsConfig, **kwargs: Any) -> None:
    """A key's entry carries its tenant and the tenant's claims configuration: both edits drop the entries."""
    tenant_id = instance.pk if isinstance(instance, Tenant) else instance.tenant_id
    cacheguard.forget(
        api_key_key(p) for p in ApiKey.objects.filter(tenant_id=tenant_id).values_list("prefix", flat=True)
    )
