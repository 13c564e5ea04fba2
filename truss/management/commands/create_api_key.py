from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from truss import apikeys, audit
from truss.audit import Action
from truss.models import ApiKeyRole, Tenant


class Command(BaseCommand):
    help = "Create an API key for a tenant and print only the key (it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--role", required=True, choices=ApiKeyRole.values)
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, tenant: str, role: str, name: str, **options: Any) -> None:
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}. Create it with `manage.py create_tenant {tenant}`.")
        key, raw = apikeys.generate(found, role, name=name or "created from the command line")
        audit.record(
            None,
            Action.APIKEY_CREATE,
            tenant=found,
            target=key.prefix,
            actor="cli",
            after={"prefix": key.prefix, "role": role, "name": key.name},
        )
        self.stdout.write(raw)
