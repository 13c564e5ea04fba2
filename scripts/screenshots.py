"""Full-page PNGs of every console page, for reviewing the console as an operator sees it (`make screenshots`).

By default it expects `make run` to be serving on http://127.0.0.1:8000 with the demo data (`seed_demo`).
With --start it runs its own: a private Hydra + Kratos on free ports (truss/devstack.py, as the tests do), a
fresh SQLite database in a temporary folder, `seed_demo`, and Django's development server on a free port; all
of it is stopped and removed afterwards. Either way it signs in as the demo operator and saves one PNG per menu
entry (truss/context_processors.py NAV_SECTIONS), the demo client's page, and two states worth reviewing: the
claims editor after an invalid save, and the audit log after it.

Chromium is Debian's (/usr/bin/chromium, or CHROMIUM=…): nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from truss.devstack import HOST, Stack, free_port  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OPERATOR = ("demo", "demo-operator-pw")  # what seed_demo creates
WIDTH = 1280


def nav_pages() -> list[tuple[str, str]]:
    """(label, path) of every menu entry, in menu order, resolved by Django's URL configuration."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "truss.settings")
    os.environ.setdefault("TRUSS_ENV_FILE", os.devnull)
    os.environ.setdefault("SECRET_KEY", "screenshots-only-not-a-secret-0123456789")
    import django
    from django.urls import reverse

    django.setup()
    from truss.context_processors import NAV_SECTIONS

    return [(label, reverse(name)) for _, pages in NAV_SECTIONS for name, label, _ in pages]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"Nothing answers on {url}: start Truss with `make run`, or pass --start.")


@contextlib.contextmanager
def own_truss() -> Iterator[str]:
    """A private stack, database and development server; yields Truss's base URL."""
    with tempfile.TemporaryDirectory(prefix="truss-shots-") as tmp:
        port = free_port()
        base = f"http://{HOST}:{port}"
        ports = {key: free_port() for key in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
        stack = Stack(state_dir=Path(tmp), ports=ports, truss_url=base, persistent=True)
        env = {
            **os.environ,
            **stack.env(),
            "TRUSS_ENV_FILE": os.devnull,
            "DEBUG": "true",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": HOST,
            "TRUSS_PUBLIC_URL": base,
            "DATABASE_URL": f"sqlite:///{tmp}/truss.sqlite3",
            "TRUST_TOKEN_HOOK": "off",
        }
        python = sys.executable
        server: subprocess.Popen[bytes] | None = None
        try:
            stack.start(timeout=60)
            for command in (["migrate", "--noinput"], ["seed_demo"]):
                subprocess.run(
                    [python, "manage.py", *command], cwd=REPO, env=env, check=True, capture_output=True
                )
            server = subprocess.Popen(
                [python, "manage.py", "runserver", f"{HOST}:{port}", "--noreload"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for(f"{base}/login/")
            yield base
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            stack.stop()


def shoot(page: Any, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = out / f"{name}.png"
    page.screenshot(
        path=str(path), full_page=True, caret="initial"
    )  # "hide" would inject a style (CSP report)
    print(f"  {path}")


def capture(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    pages = nav_pages()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(f"{base}/login/")
        page.fill("#id_username", OPERATOR[0])
        page.fill("#id_password", OPERATOR[1])
        page.press("#id_password", "Enter")
        page.wait_for_url(lambda url: "/login/" not in url)
        for number, (label, path) in enumerate(pages, start=1):
            page.goto(f"{base}{path}")
            shoot(page, out, f"{number:02d}_{slug(label)}")
        page.goto(f"{base}/console/clients/")
        links = page.locator("main a[href^='/console/clients/']").evaluate_all(
            "links => links.map(a => [a.textContent.trim(), a.getAttribute('href')])"
        )
        clients = [href for text, href in links if re.fullmatch(r"/console/clients/[^/]+/", href) and text]
        demo = [href for text, href in links if text == "Demo web app"] or clients
        if demo:
            page.goto(f"{base}{demo[0]}")
            shoot(page, out, "20_client_detail")
        page.goto(f"{base}/console/claims/")
        page.fill("#id_id_token_claims", '{\n  "email": "{{traits.email}}"\n  "name": "{{traits.name}}"\n}')
        page.fill("#id_identity", "jane@example.test")
        page.click("button:has-text('Save claims')")
        page.wait_for_selector(".error-summary")
        shoot(page, out, "30_claims_save_invalid_json")
        page.goto(f"{base}/console/audit/")
        for summary in page.locator("tr.event-details summary").all()[:2]:
            summary.click()
        shoot(page, out, "31_audit_log_after_activity")
        browser.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="a running Truss (make run)")
    parser.add_argument("--start", action="store_true", help="run a private Truss + Hydra + Kratos instead")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "screenshots")
    args = parser.parse_args(argv)
    if args.start:
        with own_truss() as base:
            capture(base, args.out)
    else:
        wait_for(f"{args.base_url.rstrip('/')}/login/", timeout=5)
        capture(args.base_url.rstrip("/"), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
