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
        parser.add_argument(
            "--from-now",
            action="store_true",
            help="a sink that has delivered nothing yet starts after the newest event (its history is not sent)",
        )

    def handle(self, *args: Any, once: bool = False, from_now: bool = False, **options: Any) -> None:
        sinks = stream.configured_sinks()
        if not sinks:
            raise CommandError(
                "no audit sink configured: set AUDIT_STREAM_FILE and/or AUDIT_STREAM_WEBHOOK_URL"
            )
        for sink in sinks if from_now else []:
            if stream.start_at_end(sink.kind):
                self.stdout.write(f"{sink.kind}: starting after the newest event")
        streamer = stream.Streamer(sinks)
        if once:
            results = streamer.run_once()
            for kind, result in results.items():
                state = _state(result)
                self.stdout.write(f"{kind}: delivered {result.delivered} ({state})")
            if any(r.failed for r in results.values()):
                raise CommandError("a sink failed; its events stay pending and are sent again")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"streaming the audit log to {', '.join(s.describe() for s in sinks)}")
        streamer.run(stop)


def _state(result: stream.StepResult) -> str:
    if result.failed:
        return "failed"
    if result.busy:
        return "busy (another streamer holds the sink)"
    return "waiting (backing off)" if result.waiting else "ok"
