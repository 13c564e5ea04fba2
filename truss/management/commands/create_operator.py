from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from truss import audit
from truss.audit import Action
from truss.models import Membership, Role, Tenant


class Command(BaseCommand):
    help = "Create (or update) an operator and give them a role in a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", default=None, help="Without it, an existing password is kept.")
        parser.add_argument("--email", default="")
        parser.add_argument("--superuser", action="store_true", help="Make them a platform admin.")

    def handle(
        self,
        *args: Any,
        username: str,
        tenant: str,
        role: str,
        password: str | None,
        email: str,
        superuser: bool,
        **options: Any,
    ) -> None:
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"No tenant {tenant!r}. Create it with `manage.py create_tenant {tenant}`.")
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
        if password:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        if superuser:
            user.is_superuser = user.is_staff = True
        user.save()
        membership, _ = Membership.objects.update_or_create(user=user, tenant=found, defaults={"role": role})
        audit.record(
            None,
            Action.TENANT_MEMBER_SET,
            tenant=found,
            target=username,
            actor="cli",
            after={"user": username, "role": role, "superuser": user.is_superuser},
        )
        self.stdout.write(f"{'Created' if created else 'Updated'}: {username} is {role} in {found.slug}")
