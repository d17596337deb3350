"""Signals: SIGTERM (a CI job cancelled) tears down exactly as Ctrl-C does.

One home for the process's signal handling: the CLI, the pytest plugin and the long jobs
use these instead of each writing their own handler.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def tear_down_on_sigterm() -> None:
    """From now on, SIGTERM raises KeyboardInterrupt in the main thread, like Ctrl-C."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (so its `finally` runs); restored after."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM within the block, so a second signal cannot cut a teardown short."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_on_signals(stop: Callable[[], None]) -> None:
    """From now on, the first SIGINT or SIGTERM calls `stop` (a server's orderly shutdown); later ones do nothing."""
    stopped = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
