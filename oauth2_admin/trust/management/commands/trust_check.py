"""The platform check of trusted issuers: Hydra trusts no tenant's trust is carried by (left by a create whose
outcome was never settled, or made outside Truss: usable by every client with the jwt-bearer grant when the token
hook is off), and tenants' live trusts whose Hydra trust is gone. Exits non-zero while either remains."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth2_admin.trust import service as trust


class Command(BaseCommand):
    help = "List Hydra trusts no tenant owns and tenants' trusts Hydra lost; --fix removes and repairs (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="remove the orphans, re-create the lost ones")

    def handle(self, *args: Any, **options: Any) -> None:
        report = trust.check()
        for grant in report.orphans:
            self.stdout.write(
                f"orphan  {grant.id}  {grant.issuer}  kid={trust.grant_kid(grant)}  "
                f"subject={trust.subject_key(grant) or '*'}  expires={grant.expires_at}"
            )
        for record in report.missing:
            self.stdout.write(f"lost    {record.hydra_id}  {record.issuer}  tenant={record.tenant.slug}")
        if options["fix"]:
            for grant in report.orphans:
                trust.remove_orphan(None, grant.id)
            repaired = trust.repair()
            self.stdout.write(f"removed {len(report.orphans)} orphan trusts, repaired {repaired} issuer keys")
            report = trust.check()
        problems = len(report.orphans) + len(report.missing)
        if problems:
            raise CommandError(
                f"{problems} trust(s) need attention: run with --fix (each removal is audited)."
            )
        self.stdout.write("trusted issuers: Hydra and Truss agree")
