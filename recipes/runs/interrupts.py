"""Ctrl-C (SIGINT) and SIGTERM: stop where nothing is left half-done, say in one line what was
kept, exit 130 or 143 (128 + the signal, as shells report it).

The command line runs each command under `exits`, which installs `handled()`. A signal then
raises `Interrupted` wherever the program is, as Python's own KeyboardInterrupt would: everything
this project writes is written atomically, so stopping there leaves whole files only. A few steps
are not one atomic write and run `shielded()`: a run's promotion into --out, an export's swap,
removing a stopped run's staging folder, keras-tuner's search, which saves its state in place,
and every training (recipes/training/train.py), whose Keras and TensorFlow code a signal must not
cut through. There a signal waits for the end of the block, or for a safe point that calls
`check()` (in training, between two calls of its steps: callbacks.StopOnSignal). A second
signal does not wait, so a stuck process still stops. A library's bare `except:` (Keras has a
few) can swallow the `Interrupted` a signal raised; training's safe points raise it again
(`check_training`), so a run never trains on past a signal.
"""

import contextlib
import functools
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What a shielded block defers: `depth` open shields, the `pending` signal number or None; and
# the signal last `raised` at once, until the command ends (`check_training`).
_shield = {"depth": 0, "pending": None, "raised": None}


class Interrupted(KeyboardInterrupt):
    """A SIGINT or SIGTERM. `str()` is the one line to print, `exit_code` the exit status."""

    def __init__(self, signum=signal.SIGINT, message="interrupted; nothing was left half-written"):
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self):
        return 128 + self.signum

    @classmethod
    def of(cls, stop):
        """`stop` as an `Interrupted`: Python's own KeyboardInterrupt is a SIGINT."""
        return stop if isinstance(stop, cls) else cls()

    def saying(self, message):
        """The same interruption, with the line that says what it left behind."""
        return Interrupted(self.signum, message)


def _on_signal(signum, _frame):
    if _shield["depth"] and _shield["pending"] is None:
        _shield["pending"] = signum
        return
    _shield["pending"] = None
    _shield["raised"] = signum
    raise Interrupted(signum)


@contextlib.contextmanager
def handled():
    """SIGINT and SIGTERM raise `Interrupted` inside the block. A signal the process was started
    ignoring stays ignored (a background job's Ctrl-C, `nohup`); only the main thread may set
    handlers, so elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _on_signal)
    try:
        yield
    finally:
        # one deferred by a block that then failed, or one raised: the command is over
        _shield["pending"] = _shield["raised"] = None
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


def exits(main):
    """The command line's `main`, with SIGINT and SIGTERM raising `Interrupted` while it runs;
    one that gets out of it is its one line on stderr and its exit status."""
    @functools.wraps(main)
    def interruptible(*args, **kwargs):
        with handled():
            try:
                return main(*args, **kwargs)
            except KeyboardInterrupt as interrupt:
                stop = Interrupted.of(interrupt)
            except Exception as error:
                stop = interrupt_behind(error)
                if stop is None:
                    raise
            print(stop, file=sys.stderr)
            return stop.exit_code
    return interruptible


def interrupt_behind(error):
    """The `Interrupted` an error stands in for, or None. A signal raised inside a library's
    context manager can come out as that library's own error (TensorFlow's device scope:
    "Exiting device scope without proper scope nesting"), the interrupt in its context."""
    cause = error
    while cause is not None:
        if isinstance(cause, KeyboardInterrupt):
            return Interrupted.of(cause)
        cause = cause.__context__
    return Interrupted(_shield["raised"]) if _shield["raised"] is not None else None


@contextlib.contextmanager
def shielded():
    """A signal arriving inside waits for `check()` or the end of the outermost shield."""
    _shield["depth"] += 1
    try:
        yield
    finally:
        _shield["depth"] -= 1
    if not _shield["depth"]:
        check()


def check():
    """A safe point: raise the signal a shield deferred, if one did."""
    signum, _shield["pending"] = _shield["pending"], None
    if signum is not None:
        raise Interrupted(signum)


def check_training():
    """A safe point inside training: as `check`, and a signal whose `Interrupted` was raised
    but swallowed is raised again. Training that goes on after a signal raised at once can only
    have lost it: raised, it would have ended the training."""
    swallowed, _shield["raised"] = _shield["raised"], None
    if swallowed is not None:
        raise Interrupted(swallowed)
    check()
