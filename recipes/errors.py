"""The one error type for user mistakes; the CLI turns it into exit code 2 and one line."""


class UserError(Exception):
    """Bad input from the user: the message names the problem and what would be valid."""


class DataUnavailable(UserError):
    """The data set cannot be had here (no local file, no network): `run all` skips it."""


class Diverged(UserError):
    """The training loss became NaN or infinite; the run stopped there and promoted nothing."""


def user_errors():
    """What the command line reports as a one-line error (exit 2) rather than a crash.

    Resolved lazily: importing `zoo` imports Keras, and `list`/`--help` must stay instant.
    """
    from zoo import ZooError

    return (UserError, ZooError)
