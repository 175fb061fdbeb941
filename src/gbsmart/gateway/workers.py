"""``gbsmart gateway serve --workers N``: N HTTP worker processes and one supervisor that owns the request log.

The supervisor (the process ``serve`` starts in) opens the durable request log (it holds its lock), makes sure
the DCC's signing key exists, binds one listening socket per worker (SO_REUSEPORT), starts the ``Sequencer``
(``gateway.sequencer``) on a Unix socket and then N workers: ``python -m gbsmart.gateway.workers FD SOCKET
PARENT``, each a uvicorn server on its inherited listening socket running the ordinary ``Gateway`` app, whose
``start`` (through ``open_log``) connects a ``RemoteLog`` to the sequencer instead of opening the file. Each
worker does the CPU work (parse, verify, authorise, sign), keeps its own authorisation index and keystore
(refreshed as in one process) and writes its own journal rows (batched; SQLite's WAL and busy timeout let two
writers take turns).

- A worker that dies is started again (after a pause that grows if it keeps dying at once); if a worker dies
  within 3 s of starting five times in a row, the supervisor stops: a broken configuration is not retried
  forever.
- A worker ends when the supervisor does: the kernel sends it SIGTERM when its parent dies (``PR_SET_PDEATHSIG``)
  and it shuts down when its connection to the sequencer is lost.
- SIGTERM or SIGINT to the supervisor: each worker is sent SIGTERM and finishes what it has in hand (uvicorn's
  graceful shutdown, the journal flushed), then the sequencer lets every append it received be fsynced and
  answered, and the log is closed. Decision 0025 says why it is built this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gbsmart.config import Settings, get_settings
from gbsmart.gateway.log import LogLocked, RequestLog
from gbsmart.gateway.sequencer import RemoteLog, Sequencer
from gbsmart.gateway.store import dcc_signer, log_path

if TYPE_CHECKING:
    from gbsmart.core.clock import Clock

log = logging.getLogger("gbsmart.gateway.workers")

#: set by the supervisor in each worker's environment: the sequencer's socket (internal, not a setting)
SEQUENCER_ENV = "_GBSMART_GATEWAY_SEQUENCER"
#: a worker that ends sooner than this after its start counts as failing to start
_QUICK_EXIT_SECONDS = 3.0
_MAX_QUICK_EXITS = 5
_PR_SET_PDEATHSIG = 1


async def open_log(settings: Settings) -> RequestLog | RemoteLog:
    """The request log this process appends to: the sequencer's, in a worker; else the file, opened here."""
    path = os.environ.get(SEQUENCER_ENV)
    if path:
        return await RemoteLog.connect(path, on_lost=_sequencer_lost)
    return await RequestLog.open(log_path(settings))


def _sequencer_lost() -> None:
    log.error("the connection to the gateway's sequencer was lost (the supervisor ended?): this worker stops")
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown: no new requests, the journal flushed


def sequencer_socket_path(settings: Settings) -> Path:
    """``gateway_dir/sequencer.sock``, or a private temporary directory's if that path is too long for a socket."""
    path = settings.resolved_gateway_dir().resolve() / "sequencer.sock"
    if len(os.fsencode(path)) < 100:  # sun_path holds 108 bytes
        return path
    return Path(tempfile.mkdtemp(prefix="gbsmart-gateway-")) / "sequencer.sock"


def _listeners(host: str, port: int, count: int, *, wait: float = 15.0) -> list[socket.socket]:
    """``count`` listening sockets on host:port in one SO_REUSEPORT group, one per worker slot.

    The kernel spreads new connections over the group evenly (one shared socket would let whichever worker is
    awake accept a burst of keep-alive connections alone). The supervisor keeps every socket open, so a
    restarted worker takes over its slot's socket and the connections queued on it. First the port must be
    free: workers of a supervisor that died may still hold it for a moment (they are stopping), and a plain
    bind fails until they let go; this waits for that rather than joining their group.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + wait
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise OSError(exc.errno, f"cannot listen on {host}:{port} ({exc.strerror}): stop what holds "
                                             "the port, or pass another --port") from None
        time.sleep(0.2)
    sockets = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


@dataclass
class _Worker:
    slot: int
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    quick_exits: int = 0
    restarts: int = 0
    history: list[int] = field(default_factory=list)


class Supervisor:
    """Starts, watches and restarts the workers; owns the sequencer (see the module docstring)."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        if workers < 1:
            raise ValueError("--workers must be at least 1")
        self.settings, self.host, self.port, self.count = settings, host, port, workers
        self.workers = [_Worker(i) for i in range(workers)]
        self._stopping = asyncio.Event()
        self._failed: str | None = None

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT (exit 0), or until the workers cannot be started (exit 1)."""
        loop = asyncio.get_running_loop()
        request_log = await RequestLog.open(log_path(self.settings))  # LogLocked if another gateway runs
        try:
            dcc_signer(self.settings)  # made once here: workers starting together would each make another key
            listeners = _listeners(self.host, self.port, self.count)
        except BaseException:
            await request_log.close()
            raise
        path = sequencer_socket_path(self.settings)
        sequencer = Sequencer(request_log, path)
        await sequencer.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        log.info("gateway supervisor %d: %d workers on %s:%d, request log %s, sequencer %s", os.getpid(),
                 self.count, self.host, self.port, request_log.path, path)
        watchers = [loop.create_task(self._watch(worker, listener, path))
                    for worker, listener in zip(self.workers, listeners, strict=True)]
        try:
            await self._stopping.wait()
        finally:
            for worker in self.workers:
                if worker.process is not None and worker.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.send_signal(signal.SIGTERM)
            await self._reap(timeout=30.0)
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            for listener in listeners:
                listener.close()
            await sequencer.close()
            log.info("gateway supervisor %d stopped: %d appends received, %d refused for their counter",
                     os.getpid(), sequencer.appended, sequencer.refused)
        if self._failed:
            log.error("%s", self._failed)
            return 1
        return 0

    async def _reap(self, timeout: float) -> None:
        running = [w.process for w in self.workers if w.process is not None and w.process.returncode is None]
        if not running:
            return
        _, pending = await asyncio.wait([asyncio.ensure_future(p.wait()) for p in running], timeout=timeout)
        if pending:
            for process in running:
                if process.returncode is None:
                    log.warning("worker %d did not stop within %.0f s: killing it", process.pid, timeout)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            await asyncio.gather(*(p.wait() for p in running))

    async def _watch(self, worker: _Worker, listener: socket.socket, path: Path) -> None:
        env = {**os.environ, SEQUENCER_ENV: str(path)}
        while not self._stopping.is_set():
            worker.started = time.monotonic()
            worker.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gbsmart.gateway.workers", str(listener.fileno()), str(path), str(os.getpid()),
                pass_fds=(listener.fileno(),), env=env)
            worker.history.append(worker.process.pid)
            log.info("gateway worker %d started (pid %d)", worker.slot, worker.process.pid)
            code = await worker.process.wait()
            if self._stopping.is_set():
                return
            quick = time.monotonic() - worker.started < _QUICK_EXIT_SECONDS
            worker.quick_exits = worker.quick_exits + 1 if quick else 0
            worker.restarts += 1
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            if worker.quick_exits >= _MAX_QUICK_EXITS:
                self._failed = (f"gateway worker {worker.slot} {how} {worker.quick_exits} times within "
                                f"{_QUICK_EXIT_SECONDS:.0f} s of starting: the gateway stops (see the worker's "
                                "errors above; fix the setting or data it names and start it again)")
                self._stopping.set()
                return
            pause = min(0.1 * 2 ** worker.quick_exits, 5.0) if quick else 0.0
            log.warning("gateway worker %d (pid %d) %s: starting another%s", worker.slot, worker.process.pid, how,
                        f" in {pause:.1f} s" if pause else "")
            if pause:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)


def _event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> int:
    """Run the supervisor, its sequencer and ``workers`` worker processes until stopped; the exit status."""
    with _event_loop_runner() as runner:
        try:
            return runner.run(Supervisor(settings, host, port, workers).run())
        except (LogLocked, OSError) as exc:  # another gateway holds the log, or the port is taken
            log.error("the gateway cannot start: %s", exc)
            return 1


# ------------------------------------------------------------------ the worker process


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the supervisor dies (Linux); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(0)


def worker_main(argv: list[str], *, clock: Clock | None = None) -> None:
    """A worker: the gateway app under uvicorn on the inherited listening socket ``argv[0]``."""
    import uvicorn

    from gbsmart.gateway.server import Gateway

    fd, parent = int(argv[0]), int(argv[2])
    _die_with_parent(parent)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(name)s[{os.getpid()}] %(levelname)s %(message)s")
    listener = socket.socket(fileno=fd)
    config = uvicorn.Config(Gateway(get_settings(), clock=clock), lifespan="on", log_level="warning",
                            access_log=False, timeout_graceful_shutdown=20)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    worker_main(sys.argv[1:])
