"""SIGINT and SIGTERM as a request to stop, SIGHUP as one to reload: the one place enhance, batch and serve
install their handlers."""

from __future__ import annotations

import signal
import threading
from typing import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _install(signals: tuple[signal.Signals, ...], handler: Callable) -> Callable[[], None]:
    """``handler`` for ``signals``; returns the function that puts the previous handlers back. Outside the main
    thread (where Python allows no handler) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.signal(s, handler) for s in signals}

    def restore() -> None:
        for s, old in previous.items():
            signal.signal(s, old)

    return restore


def on_stop_signals(on_stop: Callable[[str], None]) -> Callable[[], None]:
    """Call ``on_stop(signal name)`` on SIGINT/SIGTERM; returns the function that puts the previous handlers back."""
    return _install(STOP_SIGNALS, lambda signum, _frame: on_stop(signal.Signals(signum).name))


def on_reload_signal(on_reload: Callable[[], None]) -> Callable[[], None]:
    """Call ``on_reload()`` on SIGHUP (serve reads its config again, as daemons do); returns the function that
    puts the previous handler back."""
    return _install((signal.SIGHUP,), lambda _signum, _frame: on_reload())
