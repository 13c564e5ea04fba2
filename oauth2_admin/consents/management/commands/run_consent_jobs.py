"""Run unfinished bulk revocations to completion (they otherwise advance while their progress page is open)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from oauth2_admin.consents import jobs
from oauth2_admin.consents.models import RevokeJob


class Command(BaseCommand):
    help = "Work through every running 'revoke this client for everyone' job."

    def handle(self, *args: Any, **options: Any) -> None:
        for job in RevokeJob.objects.filter(state=RevokeJob.State.RUNNING).order_by("id"):
            job = jobs.run_to_completion(job)
            self.stdout.write(
                f"job {job.pk} ({job.client_id}): {job.processed}/{job.total} {job.state}"
                + (f", last error: {job.last_error}" if job.last_error else "")
            )
