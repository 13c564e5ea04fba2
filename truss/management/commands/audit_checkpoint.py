from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from truss.audit import checkpoint, logger


class Command(BaseCommand):
    help = (
        "Print a signed checkpoint of every audit chain's head as one JSON line (and log it; --append FILE "
        "also appends it there). Keep checkpoints off this machine; `verify_audit --checkpoint FILE` then "
        "detects rows removed before them. Run it periodically (cron, systemd timer)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--append", metavar="FILE", help="also append the line to FILE")

    def handle(self, *args: Any, append: str | None = None, **options: Any) -> None:
        line = json.dumps(checkpoint(), sort_keys=True)
        logger.info("%s", line)
        if append:
            with Path(append).open("a") as out:
                out.write(line + "\n")
        self.stdout.write(line)
