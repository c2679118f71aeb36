"""Fresh apps for :mod:`ws_routes.engine.leaks`: the app imported anew, in this process for the
common case, in a worker process for the sure one.

:class:`FreshApps` is what the pytest run uses. Most findings are ordinary bugs that fail again
on their own: to tell that cheaply (milliseconds, not a new interpreter), the case is first
replayed in this process against the app imported anew, its own modules (``faults.is_app_code``)
taken out of ``sys.modules`` for the while and put back after. Only a case that passes there
(or cannot be run so: an app that will not import twice) goes to the worker process, which is
sure: state kept in installed libraries is new there too.

:class:`FreshProcess` starts ``python -m ws_routes.report.fresh`` once (on the first replay it
is asked for) with the route's spec; the worker imports the app and compiles the route, and then,
for each replay, forks a child: the child has the app exactly as importing it left it, nothing
ever ran in it (no lifespan, no connection), so module-level state and ``app.state`` are new. The
child runs the app's lifespan, replays the earlier connections and the case in order (as ``ws-routes
replay`` does, :func:`ws_routes.report.replay.play_in_app`), judges the case and answers. A fork
costs milliseconds where a new interpreter importing ws_routes and the app costs ~0.5 s, which
is what makes a search over earlier connections (one fresh app per candidate) affordable. Where
``fork`` is missing, each replay gets a new worker instead.

Both ends speak length-prefixed pickles over the worker's stdin and a private copy of its stdout
(the app's prints go to stderr, kept in a temporary file for the error message). Nothing waits
without a deadline: the worker kills a child that outlives its replay's timeout, and this side
kills a worker that does not answer in time.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ws_routes.app.faults import is_app_code
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.engine.conversation import Conversation
from ws_routes.engine.findings import bug_of
from ws_routes.engine.leaks import FreshOutcome
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.saved import AfterEarlier
from ws_routes.report.render import render_handshake
from ws_routes.report.replay import play_in_app
from ws_routes.spec.model import RouteSpec, Settings

__all__ = ["FreshApps", "FreshProcess"]

_HEADER = struct.Struct(">I")
# Importing the app may take this many connection_timeouts (as at collection).
_IMPORT_FACTOR = 10
# What a worker gets beyond a replay's own timeout to answer (its fork, the pickles).
_SLACK = 2.0


class FreshApps:
    """A case alone replayed in this process against the app imported anew when it fails there;
    everything else (a case that passes there, any earlier connections) in a worker process."""

    def __init__(
        self, app: str, route: RouteSpec, converters: dict[str, str] | None, *, rootdir: Path
    ) -> None:
        self.app, self.rootdir = app, rootdir
        self.route = route
        self.converters = converters
        self.process = FreshProcess(app, route, converters, rootdir=rootdir)
        self._asked: Conversation | Probe | None = None

    def replay(
        self,
        earlier: Sequence[Conversation],
        final: Conversation | Probe,
        *,
        timeout: float,
        render: bool = False,
    ) -> FreshOutcome:
        # Asked again about the same case alone: what failed here was not the run's bug, so the
        # worker process decides (an app imported anew here is not new in every respect).
        if not earlier and not render and final is not self._asked:
            self._asked = final
            here = self._here(final)
            if here.bug is not None:
                return here
        return self.process.replay(earlier, final, timeout=timeout, render=render)

    def close(self) -> None:
        self.process.close()

    def _here(self, final: Conversation | Probe) -> FreshOutcome:
        """``final`` replayed in this process against the app imported anew."""
        try:
            with reimported(self.app, self.rootdir, self.route.settings) as app:
                route = compile_route(self.route, converters=self.converters)
                answer = _replay(app, route, {"final": final, "earlier": (), "render": False})
        except Exception as exc:  # it will not import twice: the worker process decides
            return FreshOutcome(error=f"{type(exc).__name__}: {exc}")
        return answer if isinstance(answer, FreshOutcome) else FreshOutcome(error=str(answer))


@contextlib.contextmanager
def reimported(app: str, rootdir: Path, settings: Settings) -> Iterator[Any]:
    """The app imported anew: while the block runs, the modules of the app's own code are new
    ones (imported again from their files), and the run's are put back afterwards."""
    from ws_routes.app.discovery import load_app

    def own(module: Any) -> bool:
        filename = getattr(module, "__file__", None)
        return isinstance(filename, str) and is_app_code(filename)

    kept = {name: module for name, module in list(sys.modules.items()) if own(module)}
    for name in kept:
        del sys.modules[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the run showed the app's import warnings already
            yield load_app(
                app, rootdir=rootdir, timeout=settings.connection_timeout * _IMPORT_FACTOR
            )
    finally:
        for name, module in list(sys.modules.items()):
            if own(module):
                del sys.modules[name]
        sys.modules.update(kept)


class FreshProcess:
    """Replays connections in a freshly imported app (see the module docstring)."""

    def __init__(
        self,
        app: str,
        route: RouteSpec,
        converters: dict[str, str] | None,
        *,
        rootdir: Path,
    ) -> None:
        self._header = {
            "app": app,
            "root": str(rootdir),
            "route": route,
            "converters": converters,
            "path": list(sys.path),
            "import_timeout": route.settings.connection_timeout * _IMPORT_FACTOR,
        }
        self._startup = route.settings.connection_timeout * _IMPORT_FACTOR + _SLACK
        self._proc: subprocess.Popen[bytes] | None = None
        self._answers: queue.Queue[Any] = queue.Queue()
        self._stderr: IO[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.forks = hasattr(os, "fork")

    def replay(
        self,
        earlier: Sequence[Conversation],
        final: Conversation | Probe,
        *,
        timeout: float,
        render: bool = False,
    ) -> FreshOutcome:
        """Run ``earlier`` then ``final`` in a fresh app; how ``final`` ended (engine.leaks)."""
        if self._proc is None or self._proc.poll() is not None:
            error = self._start()
            if error:
                return FreshOutcome(error=error)
        assert self._proc is not None
        assert self._proc.stdin is not None
        job = {"earlier": tuple(earlier), "final": final, "render": render, "timeout": timeout}
        try:
            _write(self._proc.stdin, job)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            self.close()
            return FreshOutcome(error=f"the fresh app could not be given the case: {exc}")
        answer = self._answer(timeout + _SLACK)
        if not self.forks:
            self.close()  # the next replay needs a new process: this one ran the app
        if answer is None:
            return FreshOutcome(error=f"the fresh replay did not finish within {timeout:.1f} s")
        if isinstance(answer, dict) and "error" in answer:
            return FreshOutcome(error=str(answer["error"]))
        assert isinstance(answer, FreshOutcome)
        return answer

    def close(self) -> None:
        """Stop the worker (it exits once its stdin closes; killed if it does not)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=_SLACK)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=_SLACK)
            if self._reader is not None:  # it ends at the end of the worker's output
                self._reader.join(timeout=_SLACK)
                self._reader = None
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _start(self) -> str:
        """Start a worker and wait for it to have imported the app ("" when it is ready)."""
        self.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self._answers = queue.Queue()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ws_routes.report.fresh"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._proc = proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        reader = threading.Thread(
            target=_pump, args=(proc.stdout, self._answers), name="ws-routes-fresh", daemon=True
        )
        reader.start()
        self._reader = reader
        try:
            _write(proc.stdin, self._header)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            self.close()
            return f"the fresh app could not be started: {exc}"
        ready = self._answer(self._startup)
        if isinstance(ready, dict) and ready.get("ready"):
            return ""
        problem = ready.get("error") if isinstance(ready, dict) else None
        tail = self._stderr_tail()
        self.close()
        return str(problem or "the fresh app's process ended before it was ready") + tail

    def _answer(self, timeout: float) -> Any:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.close()
            return None
        if answer is _EOF:
            return {"error": "the fresh app's process ended" + self._stderr_tail()}
        return answer

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-5:]
        return (": " + " | ".join(lines)) if lines else ""


_EOF = object()


def _pump(stream: IO[bytes], answers: queue.Queue[Any]) -> None:
    """The worker's answers, read on a thread, so waiting for one has a timeout everywhere."""
    while True:
        try:
            answer = _read(stream)
        except Exception:  # a broken pickle: the worker is beyond use
            answer = None
        if answer is None:
            answers.put(_EOF)
            return
        answers.put(answer)


def _write(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    """The next pickle, or None at the end of the stream."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


# --- The worker ----------------------------------------------------------------------------------


def _replay(app: Any, route: CompiledRoute, job: dict[str, Any]) -> FreshOutcome | dict[str, str]:
    """One replay, in this process: the app's lifespan, the earlier connections, the case."""
    final, earlier = job["final"], tuple(job["earlier"])
    saved = AfterEarlier(final, earlier) if earlier else final
    try:
        transcript, failures, before = play_in_app(app, route, saved)
    except Exception as exc:  # the lifespan failed, or ours: no verdict on the case
        return {"error": f"the fresh app could not be run: {type(exc).__name__}: {exc}"}
    rendered: tuple[tuple[str, ...], ...] = ()
    if job["render"]:
        rendered = tuple((*render_handshake(t).splitlines(), *t.render(limit=200)) for t in before)
    if not failures:
        return FreshOutcome(earlier=rendered)
    return FreshOutcome(
        bug=bug_of(failures[0], transcript), check=failures[0].check, earlier=rendered
    )


def _forked(app: Any, route: CompiledRoute, job: dict[str, Any]) -> Any:
    """One replay in a forked child, killed if it outlives the job's timeout."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the app as importing it left it
        os.close(read)
        try:
            answer: Any = _replay(app, route, job)
        except BaseException as exc:
            answer = {"error": f"the fresh replay raised {type(exc).__name__}: {exc}"}
        with contextlib.suppress(BaseException), os.fdopen(write, "wb") as out:
            _write(out, answer)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        ready, _, _ = select.select([stream], [], [], float(job["timeout"]))
        answer = _read(stream) if ready else None
    if answer is None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        answer = {"error": f"the fresh replay did not finish within {job['timeout']:.1f} s"}
    os.waitpid(pid, 0)
    return answer


def main() -> None:
    """The worker: read the header, import the app, then answer each job until stdin closes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the app's prints must not break the answers
    stdin = sys.stdin.buffer
    header = _read(stdin)
    if header is None:
        return
    sys.path[:] = header["path"]
    warnings.simplefilter("ignore")  # the run showed the route's warnings already
    try:
        from ws_routes.app.discovery import load_app

        app = load_app(
            header["app"], rootdir=Path(header["root"]), timeout=header["import_timeout"]
        )
        route = compile_route(header["route"], converters=header["converters"])
    except Exception as exc:
        _write(out, {"error": f"the fresh app could not be imported: {exc}"})
        return
    _write(out, {"ready": True})
    forks = hasattr(os, "fork")
    while (job := _read(stdin)) is not None:
        _write(out, _forked(app, route, job) if forks else _replay(app, route, job))
        if not forks:
            return  # this process ran the app: the next replay needs a new one


if __name__ == "__main__":
    main()
