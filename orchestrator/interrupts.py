"""SIGINT for the commands, however they were started."""

from __future__ import annotations

import signal


def take_back_sigint() -> None:
    """A shell starts a background job (`cmd &` in a script, CI) with SIGINT ignored, and
    Python then never raises KeyboardInterrupt: `kill -INT`, and SIGTERM (which the
    commands raise as a SIGINT), would be lost and a run go on. Such a job gets no Ctrl-C
    from a terminal anyway, so taking SIGINT back only makes an explicit signal stop it,
    resumably."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
