from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from truss.audit import stream


class Command(BaseCommand):
    help = (
        "Deliver every audit event, at least once and in order per tenant, to the sinks the settings configure "
        "(AUDIT_STREAM_FILE: JSON lines; AUDIT_STREAM_WEBHOOK_URL: signed HTTPS POSTs). Runs until stopped "
        "(SIGTERM/SIGINT); --once delivers what is pending and exits (cron). Run one per installation: a second "
        "one waits for the first's lease on each sink."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="deliver what is pending, then exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        sinks = stream.configured_sinks()
        if not sinks:
            raise CommandError(
                "no audit sink configured: set AUDIT_STREAM_FILE and/or AUDIT_STREAM_WEBHOOK_URL"
            )
        streamer = stream.Streamer(sinks)
        if once:
            results = streamer.run_once()
            for kind, result in results.items():
                state = (
                    "failed"
                    if result.failed
                    else "busy"
                    if result.busy
                    else "waiting"
                    if result.waiting
                    else "ok"
                )
                self.stdout.write(f"{kind}: delivered {result.delivered} ({state})")
            if any(r.failed for r in results.values()):
                raise CommandError("a sink failed; its events stay pending and are sent again")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"streaming the audit log to {', '.join(s.describe() for s in sinks)}")
        streamer.run(stop)
