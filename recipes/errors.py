"""The one error type for user mistakes; the CLI turns it into exit code 2 and one line. And
`silenced_stderr`, for the libraries that would print more lines around it."""

import contextlib
import os
import sys


class UserError(Exception):
    """Bad input from the user: the message names the problem and what would be valid."""


class DataUnavailable(UserError):
    """The data set cannot be had here (no local file, no network): `run all` skips it."""


class Diverged(UserError):
    """The training loss became NaN or infinite; the run stopped there and promoted nothing."""


@contextlib.contextmanager
def silenced_stderr():
    """File descriptor 2 sent to /dev/null inside: what TensorFlow's C++ code prints there (its
    start-up notices, a converter's error logs) cannot be caught in Python, and a user error
    must stay one line."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
