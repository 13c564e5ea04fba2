"""Reads of the signed-in operator and their tenants through the cache, and every receiver that keeps a cached
row right (the policy and the table of keys: truss.caching).

Every console page and session-authenticated API call needs the session (``SESSION_ENGINE`` is ``cached_db``
with a shared cache, see settings), the user (``CachedModelBackend.get_user``) and the operator's (tenant, role)
pairs (``cached_tenants``, used by ``truss.tenancy.tenants_for``); every API-key call needs the key's row and
tenant (``truss.apikeys.authenticate``); every bridge hop needs the tenant (``Tenant.cached``). Every save or
delete of a user, a membership, a tenant, its claims or an API key forgets the entries it affects, so a logout,
a password change, a deactivated user, a removed membership, a new role, a claims edit or a revoked key takes
effect at once in every process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from truss import caching
from truss.models import ApiKey, ClaimsConfig, Membership, Tenant


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

        user = caching.through_cache(caching.user_key(user_id), load, caching.AUTH_TTL)
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> User | None:
        return await sync_to_async(self.get_user)(user_id)


def cached_tenants(user_pk: Any, load: Callable[[], list[tuple[Tenant, str]]]) -> list[tuple[Tenant, str]]:
    """The operator's (tenant, role) pairs as `load()` gives them, through the shared cache."""
    return caching.through_cache(caching.tenants_key(user_pk), load, caching.AUTH_TTL) or []


# --- Invalidation (truss.caching.forget: tombstones now and again once the write commits) -------------------


def forget_user(user_pk: Any) -> None:
    caching.forget([caching.user_key(user_pk), caching.tenants_key(user_pk)])


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
            caching.forget([caching.tenants_key(old)])


@receiver(post_save, sender=Membership)
@receiver(post_delete, sender=Membership)
def _membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    caching.forget([caching.tenants_key(instance.user_id)])


@receiver(pre_save, sender=Tenant)
def _tenant_renamed(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    """A slug change: the entry under the old slug goes too."""
    if instance.pk is not None:
        old = Tenant.objects.filter(pk=instance.pk).values_list("slug", flat=True).first()
        if old and old != instance.slug:
            caching.forget([caching.tenant_key(old)])


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
def _tenant_changed(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    """The tenant's own entry, its API keys' entries (they carry the tenant), and every member's and platform
    admin's list (tenant writes are rare). A deleted tenant's memberships are deleted first, each through
    `_membership_changed`."""
    members = Membership.objects.filter(tenant_id=instance.pk).values_list("user_id", flat=True)
    admins = get_user_model()._default_manager.filter(is_superuser=True).values_list("pk", flat=True)
    caching.forget(
        [
            caching.tenant_key(instance.slug),
            *_api_key_keys(instance.pk),
            *(caching.tenants_key(pk) for pk in {*members, *admins}),
        ]
    )


@receiver(post_save, sender=ClaimsConfig)
@receiver(post_delete, sender=ClaimsConfig)
def _claims_changed(sender: Any, instance: ClaimsConfig, **kwargs: Any) -> None:
    """The tenant entry and its API keys' entries carry the claims configuration."""
    slug = Tenant.objects.filter(pk=instance.tenant_id).values_list("slug", flat=True).first()
    caching.forget([*([caching.tenant_key(slug)] if slug else []), *_api_key_keys(instance.tenant_id)])


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _api_key_changed(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    caching.forget(
        [caching.api_key_key(instance.prefix)]
    )  # a revocation stops the key in every process at once


def _api_key_keys(tenant_id: Any) -> list[str]:
    return [
        caching.api_key_key(p)
        for p in ApiKey.objects.filter(tenant_id=tenant_id).values_list("prefix", flat=True)
    ]
