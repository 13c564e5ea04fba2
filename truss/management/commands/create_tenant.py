from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from truss import audit
from truss.audit import Action
from truss.models import Tenant


class Command(BaseCommand):
    help = "Create a tenant (idempotent: an existing slug is left as it is)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, slug: str, name: str, **options: Any) -> None:
        if slugify(slug) != slug:
            raise CommandError(f"{slug!r} is not a valid slug; try {slugify(slug)!r}.")
        tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if created:
            audit.record(
                None,
                Action.TENANT_CREATE,
                tenant=tenant,
                target=slug,
                after={"slug": slug, "name": tenant.name},
                actor="cli",
            )
        self.stdout.write(f"{'Created' if created else 'Exists'}: tenant {tenant.slug} ({tenant.name})")
