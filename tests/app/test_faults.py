"""Which exceptions are the app's, and os._exit trapped on the loop thread only."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest

import ws_routes.errors
from ws_routes.app.faults import (
    DriverInterrupt,
    OsExitCalled,
    is_app_code,
    is_app_fault,
    main_thread_deadline,
    trap_os_exit,
)


class Own(BaseException):
    pass


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (ValueError(), True),
        (KeyboardInterrupt(), True),
        (SystemExit(1), True),
        (GeneratorExit(), True),
        (Own(), True),
        (OsExitCalled(3), True),
        (asyncio.CancelledError(), False),
        (DriverInterrupt(), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_is_app_fault(exc: BaseException, fault: bool) -> None:
    assert is_app_fault(exc) is fault


def test_is_app_code_tells_the_apps_files_from_libraries_and_ours(tmp_path: Path) -> None:
    assert is_app_code(__file__)
    assert is_app_code(str(tmp_path / "app.py"))
    assert not is_app_code(json.__file__)  # the standard library
    assert not is_app_code(pytest.__file__)  # an installed package
    assert not is_app_code(ws_routes.errors.__file__)  # ours
    assert not is_app_code("<string>")  # generated code (dataclasses, exec): no file to show
    assert not is_app_code("<frozen importlib._bootstrap>")
    # Packages installed where this interpreter's scheme does not look: a distribution's
    # dist-packages, another venv's site-packages.
    assert not is_app_code("/usr/lib/python3/dist-packages/websockets/server.py")
    assert not is_app_code(str(tmp_path / "venv" / "lib" / "site-packages" / "lib.py"))


def test_os_exit_raises_on_the_trapped_thread_only_and_is_restored() -> None:
    real = os._exit
    seen: list[BaseException] = []
    other_calls: list[int] = []

    def app_code() -> None:
        try:
            os._exit(3)
        except OsExitCalled as exc:
            seen.append(exc)

    worker = threading.Thread(target=app_code)
    with trap_os_exit(worker):
        assert os._exit is not real
        worker.start()
        worker.join(5)
        # Another thread (here the test's) gets the real function: prove it without exiting by
        # swapping in a recorder for what the trap calls through to.
    assert os._exit is real
    assert len(seen) == 1
    assert isinstance(seen[0], OsExitCalled)
    assert seen[0].code == 3
    assert "os._exit(3) was called" in str(seen[0])

    def recorder(status: int) -> None:
        other_calls.append(status)

    os._exit = recorder  # type: ignore[assignment]
    try:
        with trap_os_exit(threading.Thread()):
            os._exit(5)  # not the trapped thread: passed through to what was there before
    finally:
        os._exit = real
    assert other_calls == [5]


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 1e308, 0.0])
def test_a_deadline_that_cannot_be_set_leaves_the_block_unguarded(timeout: float) -> None:
    with main_thread_deadline(timeout) as guard:
        pass
    assert guard.armed is False


def test_a_deadline_off_the_main_thread_is_not_armed() -> None:
    armed: list[bool] = []

    def body() -> None:
        with main_thread_deadline(5.0) as guard:
            armed.append(guard.armed)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(5)
    assert armed == [False]
