"""Run real Ory Hydra and Kratos on 127.0.0.1 for development and tests (no Docker).

`python -m truss.devstack up|down|status|env` backs `make ory-up`, `make ory-down` and `make ory-status`;
tests use `Stack` directly to start a private stack on free ports with in-memory databases.
Only the standard library is used so that this runs before Django is configured.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORY_DIR = REPO / "ory"
DEFAULT_STATE_DIR = REPO / "var" / "ory"
DEFAULT_PORTS = {"hydra_public": 4444, "hydra_admin": 4445, "kratos_public": 4433, "kratos_admin": 4434}
DEFAULT_TRUSS_URL = "http://127.0.0.1:8000"
DEVICE_FLOW_SINCE = (25, 4)  # Hydra version that added the device authorization grant (RFC 8628)
# Hydra's token hook (ory/hydra.yml oauth2.token_hook): the dev secret shipped there, and the block's markers.
DEV_TOKEN_HOOK_SECRET = "dev-only-token-hook-secret-0123456789"
_TOKEN_HOOK_BLOCK = re.compile(r"  # @token-hook@\n.*?  # @token-hook-end@\n", re.DOTALL)
# Hydra's oauth2.pkce block (ory/hydra.yml), read back as Truss's HYDRA_PKCE_ENFORCED words.
_PKCE_BLOCK = re.compile(r"^  pkce:(.*\n(?:    .*\n)*)", re.MULTILINE)
HOST = "127.0.0.1"  # never "localhost": cookies and Kratos's return_to checks are host-literal


class StackError(RuntimeError):
    """The stack could not be started or is not healthy; the message says what to do."""


def pkce_enforced(hydra_config: str) -> str:
    """What a hydra.yml text enforces for PKCE, as HYDRA_PKCE_ENFORCED says it: "all", "public" or "off"."""
    block = _PKCE_BLOCK.search(hydra_config)
    body = block.group(1) if block else ""
    if re.search(r"\benforced:\s*true\b", body):
        return "all"
    if re.search(r"\benforced_for_public_clients:\s*true\b", body):
        return "public"
    return "off"


def versions() -> dict[str, str]:
    """Pinned versions from ory/versions.env (shared with scripts/ory-build.sh and compose.yaml)."""
    out: dict[str, str] = {}
    for line in (ORY_DIR / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def cache_dir() -> Path:
    return Path(os.environ.get("TRUSS_ORY_CACHE", Path.home() / ".cache" / "truss" / "ory"))


def binary(name: str) -> Path:
    """The Hydra/Kratos binary to run: `HYDRA_BIN` / `KRATOS_BIN` when set (any version: a release download,
    a distro package, one built elsewhere), else the pinned build in the cache folder."""
    override = os.environ.get(f"{name.upper()}_BIN")
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise StackError(f"{name.upper()}_BIN={override} is not an executable file.")
        return path
    version = versions()[f"{name.upper()}_VERSION"]
    path = cache_dir() / f"{name}-{version}" / name
    if not path.exists():
        raise StackError(
            f"{name} {version} is not built at {path}: run `make ory-build` (takes a few minutes), "
            f"or point {name.upper()}_BIN at a binary you have."
        )
    return path


def binary_version(name: str) -> str:
    """What the binary in use says it is (`hydra version` / `kratos version`), e.g. "v26.2.0"."""
    path = binary(name)
    done = subprocess.run(  # noqa: S603 - our own binary
        [str(path), "version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=_ory_env("memory"),
    )
    for line in (done.stdout + done.stderr).splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "version" and value.strip():
            return value.strip()
    raise StackError(f"could not tell the version of {path}: {(done.stdout + done.stderr)[-300:]}")


def version_tuple(version: str) -> tuple[int, ...]:
    """ "v26.2.0" → (26, 2, 0); anything unparsable sorts lowest."""
    parts = []
    for part in version.lstrip("v").split("-")[0].split("."):
        if not part.isdigit():
            return (0,)
        parts.append(int(part))
    return tuple(parts)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""
    except (OSError, urllib.error.URLError):
        return 0, b""


@dataclass
class Stack:
    state_dir: Path = DEFAULT_STATE_DIR
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    truss_url: str = DEFAULT_TRUSS_URL
    # memory: fresh databases that die with the processes (tests); file: SQLite under state_dir (make run)
    persistent: bool = True
    # Hydra calls Truss's token hook before every token it issues: Truss must be running for any token to be
    # issued. Off (the default here; `main`, i.e. `make ory-up`, turns it on unless TRUST_TOKEN_HOOK=off): the
    # block is left out of hydra.yml, and trusts are usable by every client with the jwt-bearer grant.
    token_hook: bool = False
    token_hook_secret: str = DEV_TOKEN_HOOK_SECRET

    @property
    def hydra_public_url(self) -> str:
        return f"http://{HOST}:{self.ports['hydra_public']}"

    @property
    def hydra_admin_url(self) -> str:
        return f"http://{HOST}:{self.ports['hydra_admin']}"

    @property
    def kratos_public_url(self) -> str:
        return f"http://{HOST}:{self.ports['kratos_public']}"

    @property
    def kratos_admin_url(self) -> str:
        return f"http://{HOST}:{self.ports['kratos_admin']}"

    def env(self) -> dict[str, str]:
        """The Truss settings that point at this stack."""
        return {
            "HYDRA_PUBLIC_URL": self.hydra_public_url,
            "HYDRA_ADMIN_URL": self.hydra_admin_url,
            "KRATOS_PUBLIC_URL": self.kratos_public_url,
            "KRATOS_ADMIN_URL": self.kratos_admin_url,
            # What this stack's Hydra enforces (the hygiene linter trusts it): from the shipped config it runs.
            "HYDRA_PKCE_ENFORCED": pkce_enforced((ORY_DIR / "hydra.yml").read_text()),
        }

    # --- configuration ---------------------------------------------------------------------------------

    def _render(self, name: str) -> Path:
        """Copy ory/<name> into the state dir with this stack's ports, Truss URL and schema path."""
        text = (ORY_DIR / name).read_text()
        # One pass over the defaults: replacing them one after another could rewrite part of a port chosen a
        # moment earlier (4445 inside a fresh 44450 → an invalid 6-digit port, seen as a rare start-up failure).
        ports = {str(default): str(self.ports[key]) for key, default in DEFAULT_PORTS.items()}
        pattern = re.compile(rf"(\b{re.escape(HOST)}:|\bport: )({'|'.join(ports)})\b")
        text = pattern.sub(lambda m: m.group(1) + ports[m.group(2)], text)
        text = text.replace(DEFAULT_TRUSS_URL, self.truss_url.rstrip("/"))
        schema = (ORY_DIR / "identity.schema.json").resolve()
        text = text.replace("file:///etc/config/kratos/identity.schema.json", f"file://{schema}")
        if name == "hydra.yml":
            text = text.replace("  # @device-urls@\n", self._device_urls())
            text = self._token_hook(text)
        out = self.state_dir / name
        out.write_text(text)
        return out

    def _token_hook(self, text: str) -> str:
        if not self.token_hook:
            return _TOKEN_HOOK_BLOCK.sub("", text)
        if not re.fullmatch(r"[\x21-\x7e]{16,200}", self.token_hook_secret):
            raise StackError(
                "TRUST_TOKEN_HOOK_SECRET: 16 to 200 visible ASCII characters (it goes into hydra.yml)."
            )
        return text.replace(f"value: {DEV_TOKEN_HOOK_SECRET}", f"value: {json.dumps(self.token_hook_secret)}")

    def _device_urls(self) -> str:
        """urls.device.* for a Hydra with the device flow (>= v25.4); older schemas refuse the keys."""
        if version_tuple(binary_version("hydra")) < DEVICE_FLOW_SINCE:
            return ""
        base = self.truss_url.rstrip("/")
        return (
            "  device:\n"
            f"    verification: {base}/api/hydra/bridge/device\n"
            f"    success: {base}/api/hydra/bridge/device/done\n"
        )

    def _dsn(self, name: str) -> str:
        if not self.persistent:
            return "memory"
        return f"sqlite://{(self.state_dir / f'{name}.sqlite').resolve()}?_fk=true&mode=rwc"

    # --- processes -------------------------------------------------------------------------------------

    def _pidfile(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        try:
            pid = int(self._pidfile(name).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _spawn(self, name: str, args: list[str], dsn: str) -> None:
        log = (self.state_dir / f"{name}.log").open("ab")
        env = _ory_env(dsn)
        proc = subprocess.Popen(  # noqa: S603 - our own binaries
            args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.state_dir, start_new_session=True
        )
        self._pidfile(name).write_text(str(proc.pid))

    def _migrate(self, name: str, config: Path, dsn: str) -> None:
        # File DSNs are never auto-migrated; memory DSNs migrate on every start.
        # Hydra v2.3 deprecates plain `migrate sql` for `migrate sql up`; Kratos v1.3 reads its config.
        args = [str(binary(name)), "migrate", "sql"]
        args += ["up", "-e", "--yes"] if name == "hydra" else ["-e", "--yes", "-c", str(config)]
        done = subprocess.run(  # noqa: S603
            args, env=_ory_env(dsn), capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise StackError(f"{name} migrations failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def ready(self) -> dict[str, bool]:
        return {
            "hydra": _get(f"{self.hydra_admin_url}/health/ready")[0] == 200
            and _get(f"{self.hydra_public_url}/health/alive")[0] == 200,
            "kratos": _get(f"{self.kratos_admin_url}/health/ready")[0] == 200
            and _get(f"{self.kratos_public_url}/health/alive")[0] == 200,
        }

    def start(self, timeout: float = 60.0) -> None:
        """Start whatever is not running yet and wait until both services are ready (idempotent)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ready = self.ready()
        for name in ("hydra", "kratos"):
            if ready[name]:
                continue
            if self.pid(name) is None:
                self._check_ports_free(name)
                config = self._render(f"{name}.yml")
                dsn = self._dsn(name)
                if dsn != "memory":
                    self._migrate(name, config, dsn)
                args = [str(binary(name)), "serve"]
                args += ["all"] if name == "hydra" else []
                args += ["-c", str(config), "--dev", "--sqa-opt-out"]
                self._spawn(name, args, dsn)
        self.wait_ready(timeout)
        # The first JWKS request generates Hydra's RSA signing keys (seconds); do it now, not mid-test.
        _get(f"{self.hydra_public_url}/.well-known/jwks.json", timeout=30)

    def _check_ports_free(self, name: str) -> None:
        for key, port in self.ports.items():
            if not key.startswith(name):
                continue
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
                    raise StackError(
                        f"port {port} ({key}) is taken by another process, and it is not a ready {name}: "
                        "stop it or choose other ports."
                    )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = self.ready()
            if all(ready.values()):
                return
            for name, ok in ready.items():
                if not ok and self.pid(name) is None:
                    if not self._pidfile(name).exists():
                        raise StackError(
                            f"{name} is not running (nothing answers on its ports): `make ory-up`."
                        )
                    raise StackError(f"{name} exited during start-up. Last log lines:\n{self.log_tail(name)}")
                if not ok and "sqlite3 support was not compiled" in self.log_tail(name):
                    raise StackError(
                        f"{name} was built without the sqlite tag: rebuild with `make ory-build`."
                    )
            if time.monotonic() > deadline:
                down = ", ".join(n for n, ok in ready.items() if not ok)
                raise StackError(
                    f"{down} not ready after {timeout:.0f}s. Last log lines:\n"
                    + "\n".join(self.log_tail(n) for n, ok in ready.items() if not ok)
                )
            time.sleep(0.1)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.state_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for name in ("hydra", "kratos"):
            pid = self.pid(name)
            if pid is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                if self.pid(name) is None or not _alive(pid):
                    break
                time.sleep(0.1)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            self._pidfile(name).unlink(missing_ok=True)

    def status(self) -> dict[str, dict[str, object]]:
        ready = self.ready()
        out: dict[str, dict[str, object]] = {}
        for name, url in (("hydra", self.hydra_admin_url), ("kratos", self.kratos_admin_url)):
            code, body = _get(f"{url}/version")
            version = json.loads(body).get("version") if code == 200 else None
            out[name] = {"ready": ready[name], "pid": self.pid(name), "version": version, "admin_url": url}
        return out


def _ory_env(dsn: str) -> dict[str, str]:
    """A minimal environment: Hydra and Kratos read *every* variable as configuration (LOG_LEVEL, SECRETS_…,
    SERVE_…), so Truss's own settings must not leak into them. Their config comes from the rendered files."""
    keep = ("PATH", "HOME", "TMPDIR", "LANG", "TZ")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "DSN": dsn}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # A zombie child of ours still "exists"; reap it if it is one.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def main(argv: list[str]) -> int:
    stack = Stack(
        truss_url=os.environ.get("TRUSS_PUBLIC_URL", DEFAULT_TRUSS_URL),
        token_hook=os.environ.get("TRUST_TOKEN_HOOK", "on").lower() not in ("off", "false", "0", "no"),
        token_hook_secret=os.environ.get("TRUST_TOKEN_HOOK_SECRET") or DEV_TOKEN_HOOK_SECRET,
    )
    command = argv[1] if len(argv) > 1 else "status"
    try:
        if command == "up":
            stack.start()
            print("Hydra and Kratos are ready:")
        elif command == "down":
            stack.stop()
            print("Hydra and Kratos stopped.")
            return 0
        elif command == "env":
            for key, value in stack.env().items():
                print(f"{key}={value}")
            return 0
        elif command != "status":
            print("usage: python -m truss.devstack up|down|status|env", file=sys.stderr)
            return 2
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    pinned = versions()
    healthy = True
    for name, info in stack.status().items():
        state = "ready" if info["ready"] else ("starting/unhealthy" if info["pid"] else "stopped")
        healthy = healthy and bool(info["ready"])
        source = f"{name.upper()}_BIN" if os.environ.get(f"{name.upper()}_BIN") else "pinned build"
        print(
            f"  {name:<7} {state:<18} running {info['version'] or '-':<8} "
            f"(pinned {pinned[f'{name.upper()}_VERSION']}; binary: {source})"
            f"  admin {info['admin_url']}  pid {info['pid'] or '-'}"
        )
    print(f"  logs: {stack.state_dir}/*.log")
    return 0 if healthy or command == "status" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
