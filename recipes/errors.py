"""The one error type for user mistakes; the CLI turns it into exit code 2 and one line."""


class UserError(Exception):
    """Bad input from the user: the message names the problem and what would be valid."""


class DataUnavailable(UserError):
    """The data set cannot be had here (no local file, no network): `run all` skips it."""


class Diverged(UserError):
    """The training loss became NaN or infinite; the run stopped there and promoted nothing."""
