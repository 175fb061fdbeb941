"""A throwaway PostgreSQL cluster for the test session, started from the machine's own binaries.

``postgresql_server`` (session scope) runs ``initdb`` into a temporary directory, starts the server on a
free TCP port of 127.0.0.1 (unix socket inside the same directory, durability switched off for speed),
and stops and deletes everything at the end of the session.  ``postgresql_server.new_database()`` hands
each test its own freshly created database as an SQLAlchemy URL.

The binaries are looked for with ``pg_config --bindir``, then in ``/usr/lib/postgresql/<version>/bin``
(highest version), then on ``PATH``; ``GBSMART_PG_BINDIR`` overrides the search.  PostgreSQL refuses to
run as root, so when the tests run as root the cluster belongs to, and runs as, the ``postgres`` user.

Without binaries the PostgreSQL tests fail and say to run ``scripts/test`` (which installs them), unless
``GBSMART_TEST_SKIP_POSTGRES=1``, in which case they are skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugins.databases import ENV_DATABASES, selected_databases

ENV_SKIP = "GBSMART_TEST_SKIP_POSTGRES"
ENV_BINDIR = "GBSMART_PG_BINDIR"
SUPERUSER = "postgres"
HOST = "127.0.0.1"

#: Server settings for a disposable cluster: no durability, nothing to the network but the loopback.
SERVER_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "max_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
    "jit": "off",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
    "timezone": "'UTC'",
}

_MISSING_MESSAGE = (
    "No PostgreSQL server binaries (initdb, pg_ctl) found: looked at `pg_config --bindir`, "
    "/usr/lib/postgresql/*/bin and PATH. Run `scripts/test`, which installs them "
    "(Debian: apt-get install postgresql-15), or set GBSMART_TEST_SKIP_POSTGRES=1 to skip the "
    "PostgreSQL tests, or GBSMART_TEST_DATABASES=sqlite to run SQLite only."
)


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres, or None."""
    override = os.environ.get(ENV_BINDIR)
    if override:
        return Path(override) if _has_server_binaries(Path(override)) else None
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            bindir = Path(out.stdout.strip())
            if out.stdout.strip() and _has_server_binaries(bindir):
                return bindir
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True):
        if _has_server_binaries(bindir):
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        for candidate in (Path(initdb).parent, Path(initdb).resolve().parent):
            if _has_server_binaries(candidate):
                return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A running throwaway cluster. ``new_database()`` is the one thing most tests need."""

    def __init__(self, bindir: Path, base_dir: Path) -> None:
        self.bindir = bindir
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir
        self.log_file = base_dir / "server.log"
        self.host = HOST
        self.port = 0
        self.user = SUPERUSER
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._admin = None  # psycopg.Connection to the "postgres" database, autocommit
        self._run_as = None if os.geteuid() != 0 else pwd.getpwnam(SUPERUSER)

    # -- process management -------------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": f"{self.bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
            "HOME": str(self.base_dir),
        }
        kwargs: dict = {}
        if self._run_as is not None:
            kwargs = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.base_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def init(self) -> None:
        if self._run_as is not None:
            os.chown(self.base_dir, self._run_as.pw_uid, self._run_as.pw_gid)
        self.base_dir.chmod(0o700)
        done = self._run(
            "initdb",
            "-D", str(self.data_dir),
            "-A", "trust",
            "-U", SUPERUSER,
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        settings = dict(SERVER_SETTINGS, unix_socket_directories=f"'{self.socket_dir}'")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# gbsmart test cluster\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self, attempts: int = 5) -> None:
        for _attempt in range(attempts):
            self.port = _free_port()
            done = self._run(
                "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", "60", "-o", f"-p {self.port}",
            )  # fmt: skip
            if done.returncode == 0:
                self._wait_until_ready()
                return
            if "could not bind" not in self._log_tail() and "already in use" not in self._log_tail():
                break  # not a port race: do not retry
        raise RuntimeError(
            f"PostgreSQL did not start ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
            f"--- {self.log_file} ---\n{self._log_tail()}"
        )

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop at once (``-m immediate``, as a crash) and start again on the same port, ``down_seconds`` later."""
        port = self.port
        self.stop()
        time.sleep(down_seconds)
        done = self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                         "-o", f"-p {port}")
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again on port {port}:\n{self._log_tail()}")
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                self._admin = psycopg.connect(self._dsn("postgres"), autocommit=True, connect_timeout=5)
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None
        if not (self.data_dir / "postmaster.pid").exists():
            return
        done = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w", "-t", "30", timeout=60)
        if done.returncode != 0 and (self.data_dir / "postmaster.pid").exists():
            # Last resort: kill the postmaster (its children exit when it goes).
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGKILL)

    # -- databases ------------------------------------------------------------------------------------

    def _dsn(self, dbname: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def new_database(self, prefix: str = "gbsmart_test") -> str:
        """Create a uniquely named, empty database and return its SQLAlchemy URL."""
        from psycopg import sql

        name = f"{prefix}_{next(self._counter)}_{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, url_or_name: str) -> None:
        """Drop a database made by ``new_database`` (closing any connection still open to it)."""
        from psycopg import sql

        name = url_or_name.rsplit("/", 1)[-1].split("?", 1)[0]
        with self._lock:
            self._admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def __repr__(self) -> str:
        return f"<PostgresServer {self.host}:{self.port} {self.bindir}>"


def _others_can_traverse(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))


@contextlib.contextmanager
def running_server(bindir: Path) -> Iterator[PostgresServer]:
    """Start a throwaway cluster; stop it and delete its directory on exit, whatever happens."""
    base = Path(tempfile.mkdtemp(prefix="gbsmart-pg-"))
    # Unix socket paths are limited to ~107 bytes, and as root the postgres user must reach the directory.
    if len(str(base)) > 70 or (os.geteuid() == 0 and not _others_can_traverse(base.parent)):
        shutil.rmtree(base, ignore_errors=True)
        base = Path(tempfile.mkdtemp(prefix="gbsmart-pg-", dir="/tmp"))
    server = PostgresServer(bindir, base)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL server (``host``, ``port``, ``user``, ``new_database()``)."""
    if "postgresql" not in selected_databases():
        pytest.skip(f"PostgreSQL not selected ({ENV_DATABASES}={os.environ.get(ENV_DATABASES)})")
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get(ENV_SKIP) == "1":
            pytest.skip(f"no PostgreSQL binaries found and {ENV_SKIP}=1")
        pytest.fail(_MISSING_MESSAGE, pytrace=False)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            pytest.fail(
                f"Running as root, but there is no {SUPERUSER!r} system user to run PostgreSQL as "
                "(PostgreSQL refuses to run as root). Install the postgresql package (it creates the user) "
                "or run the tests as an ordinary user.",
                pytrace=False,
            )
    try:
        cm = running_server(bindir)
        server = cm.__enter__()
    except Exception as exc:  # noqa: BLE001 - turned into one readable failure
        pytest.fail(f"Could not start the throwaway PostgreSQL cluster from {bindir}:\n{exc}", pytrace=False)
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs the throwaway PostgreSQL cluster")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgresql_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
