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
from gbsmart.core.logs import configure as configure_logging
from gbsmart.gateway.jetstream import JetStreamLog
from gbsmart.gateway.log import LogLocked, LogRecord, RequestLog
from gbsmart.gateway.matrix import WebService
from gbsmart.gateway.sequencer import RemoteLog, Sequencer
from gbsmart.gateway.store import dcc_signer, log_path

if TYPE_CHECKING:
    from lxml import etree

    from gbsmart.core.clock import Clock
    from gbsmart.gateway.authorise import AuthorisationIndex
    from gbsmart.gateway.duis import DuisRequest
    from gbsmart.simulator.responses import DeviceResponses

log = logging.getLogger("gbsmart.gateway.workers")

#: set by the supervisor in each worker's environment: the sequencer's socket (internal, not a setting)
SEQUENCER_ENV = "_GBSMART_GATEWAY_SEQUENCER"
#: the setting each worker is started with when the supervisor runs the device simulator itself
_SIMULATOR_ENV = "GBSMART_SIMULATOR_ENABLED"
#: a worker that ends sooner than this after its start counts as failing to start
_QUICK_EXIT_SECONDS = 3.0
_MAX_QUICK_EXITS = 5
_PR_SET_PDEATHSIG = 1


async def open_log(settings: Settings) -> RequestLog | RemoteLog | JetStreamLog:
    """The request log this process appends to: JetStream's (the jetstream engine); the sequencer's, in a worker;
    else the file, opened here."""
    if settings.message_engine == "jetstream":
        return await JetStreamLog.open(settings.nats_urls, stream=settings.nats_stream,
                                       prefix=settings.nats_subject_prefix, replicas=settings.nats_replicas)
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


class SupervisorResponses:
    """The one device simulator and delivery of a ``--workers N`` gateway, in the supervisor (decision 0025).

    Workers run with the simulator off: each would otherwise run recovery on start and deliver the same kept
    responses. This one starts on the supervisor's own ``RequestLog`` (recovery reads it as in one process)
    and is fed by the sequencer: ``appended`` queues each durable ``serviceS`` record (never blocking the
    sequencer's replies); a task parses them (off the event loop) and ``submit``s them to the simulator.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.responses: DeviceResponses | None = None
        self.index: AuthorisationIndex | None = None
        self._queue: asyncio.Queue[LogRecord] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._engine: object = None

    async def start(self, request_log: RequestLog) -> None:
        from gbsmart.core.clock import SystemClock
        from gbsmart.core.db import make_engine, make_sessionmaker
        from gbsmart.gateway.duis import DuisCodec
        from gbsmart.gateway.journal import Journal
        from gbsmart.simulator.responses import DeviceResponses

        engine = make_engine(self.settings.resolved_database_url())
        self._engine = engine
        self._sessions = make_sessionmaker(engine)
        self.signer = dcc_signer(self.settings)
        self.codec = DuisCodec.from_settings(self.settings)
        self.index = await asyncio.to_thread(self._load_index)
        self.journal = Journal(self._sessions, batch=self.settings.gateway_journal_batch)
        self.journal.start()
        self.responses = DeviceResponses(self.settings, self._sessions, clock=SystemClock(), sign=self._sign,
                                         journal=self.journal, devices=self._devices)
        await self.responses.start(request_log, self.codec)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._feed(), name="supervisor-device-responses"),
                       loop.create_task(self._refresh_forever(), name="supervisor-refresh")]

    def _load_index(self) -> AuthorisationIndex:
        from gbsmart.gateway.authorise import AuthorisationIndex

        with self._sessions() as session:
            return AuthorisationIndex.load(session)

    def _devices(self):  # type: ignore[no-untyped-def]
        assert self.index is not None
        return self.index.devices

    def _sign(self, root: etree._Element) -> bytes:
        from gbsmart.gateway.fastsig import sign

        return sign(root, self.signer.key, self.signer.certificate)

    def appended(self, record: LogRecord) -> None:
        """The sequencer's hook: a durable record; a Send Command one goes to the simulator, and so does a
        Non-Device one if it is a firmware payload (``_parse`` keeps only those: trt_firmware_srvs)."""
        if record.service in (WebService.SEND_COMMAND.value, WebService.NON_DEVICE.value):
            self._queue.put_nowait(record)

    async def _feed(self) -> None:
        assert self.responses is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 256:
                batch.append(self._queue.get_nowait())
            parsed = await asyncio.to_thread(self._parse, batch)
            for record, request in parsed:
                try:
                    await self.responses.submit(request, log_seq=record.seq, received_at=record.received_at)
                except Exception:  # durable: recovery after a restart completes it
                    log.exception("the device simulator refused log record %d", record.seq)
            for _ in batch:
                self._queue.task_done()

    def _parse(self, batch: list[LogRecord]) -> list[tuple[LogRecord, DuisRequest]]:
        out: list[tuple[LogRecord, DuisRequest]] = []
        for record in batch:
            try:
                request = self.codec.parse(record.body)
                if (record.service == WebService.SEND_COMMAND.value
                        or request.service_reference_variant in self.settings.trt_firmware_srvs):
                    out.append((record, request))
            except Exception:  # it was parsed by a worker before it was logged; recovery would retry it
                log.exception("log record %d could not be parsed for the device simulator", record.seq)
        return out

    async def _refresh_forever(self) -> None:
        while True:  # the devices the simulator answers for: loaded off the event loop, swapped in whole
            await asyncio.sleep(self.settings.gateway_refresh_seconds)
            try:
                self.index = await asyncio.to_thread(self._load_index)
            except Exception:
                log.exception("the supervisor's device refresh failed")

    async def close(self) -> None:
        """Hand every queued record to the simulator, then stop it (writing what is queued) and the journal."""
        if self._tasks:
            await self._queue.join()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.responses is not None:
            await self.responses.close()
        if hasattr(self, "journal"):
            await self.journal.close()
        if self._engine is not None:
            self._engine.dispose()  # type: ignore[attr-defined]


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
        responses = SupervisorResponses(self.settings) if self.settings.simulator_enabled else None
        try:
            dcc_signer(self.settings)  # made once here: workers starting together would each make another key
            listeners = _listeners(self.host, self.port, self.count)
            if responses is not None:  # recovery on the local log before any worker can append
                await responses.start(request_log)
        except BaseException:
            if responses is not None:
                await responses.close()
            await request_log.close()
            raise
        path = sequencer_socket_path(self.settings)
        sequencer = Sequencer(request_log, path, on_appended=responses.appended if responses else None)
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
            if responses is not None:
                await responses.close()
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
        # the supervisor runs the one device simulator: a worker's own would repeat recovery and delivery
        env = {**os.environ, SEQUENCER_ENV: str(path), _SIMULATOR_ENV: "false"}
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
    configure_logging(f"%(asctime)s %(name)s[{os.getpid()}] %(levelname)s %(message)s")
    listener = socket.socket(fileno=fd)
    config = uvicorn.Config(Gateway(get_settings(), clock=clock), lifespan="on", log_level="warning",
                            access_log=False, timeout_graceful_shutdown=20)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    worker_main(sys.argv[1:])
