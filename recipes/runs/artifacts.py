"""Writing artifacts so that a killed process leaves the old file or the new one, never half, and
so that a failed write becomes one line naming the path and the cause.

Everything is written to a temporary name beside its destination and renamed into place
(`os.replace` is atomic on one file system). A write that fails (no space, no permission, a
path that cannot be created, a file system gone) raises an `OSError` naming its destination,
whichever library was writing; `writing` turns it into one `UserError` line where a command
knows what it was writing.
"""

import contextlib
import errno
import itertools
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from recipes.runs import interrupts
from recipes.errors import UserError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _as_if_created_normally(path, mode):
    """mkstemp/mkdtemp make owner-only files (0600/0700); give the usual umask-based mode so
    that, say, a TF Serving container running as another user can read an export."""
    os.chmod(path, mode & ~_umask())


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; on success rename it onto `path`."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Every suffix kept (.weights.h5, not .h5): Keras picks the format by the whole ending.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                   suffix="".join(path.suffixes))
        os.close(fd)
        _as_if_created_normally(tmp, 0o666)
        yield Path(tmp)
        os.replace(tmp, path)
    except Exception as error:  # HDF5, TensorFlow and matplotlib fail to write in their own ways
        raise naming(error, path)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder next to `path`; on success it replaces `path` whole."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
        _as_if_created_normally(tmp, 0o777)
        yield tmp
        with interrupts.shielded():  # between its two renames, `path` is missing
            if path.exists():  # swap: move the old one aside, the new one in, then drop the old
                old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
                os.replace(path, old / path.name)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
    except Exception as error:  # TensorFlow's SavedModel writer fails in its own way
        raise naming(error, path)
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path, data):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, default=_plain) + "\n")


def write_csv(path, frame):
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_figure(figure, path):
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format=Path(path).suffix[1:])


def read_json(path):
    """The file's JSON, or None when it is missing or unreadable (then it marks nothing)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _plain(value):
    """numpy scalars and arrays as plain JSON numbers and lists."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


# --- folders to write into ---------------------------------------------------------------------


def check_writable(path, flag, *, folder=True):
    """Refuse a destination that cannot be written, before anything is: a `UserError` naming the
    file in the way, the link that leads nowhere or the folder that refuses writes. `folder`:
    `path` is a folder to write into, else a file to replace (a device or a pipe is refused:
    an atomic write would replace it with a plain file).

    Checked rather than tried: trying would create folders on the way to the failure. (Tests
    run as root, for whom permissions do not stop writes; a file in the way still does.)
    """
    path = Path(path)
    try:
        nearest = next(p for p in [path, *path.parents] if os.path.lexists(p))  # what is on disk
        if os.path.islink(nearest) and not nearest.exists():
            try:
                os.stat(nearest)
            except OSError as error:  # no target, or links in a loop
                raise UserError(f"cannot write {flag} {path}: {nearest} is a link to "
                                f"{os.readlink(nearest)}, which leads nowhere "
                                f"({error.strerror})") from None
        if nearest == path:
            if path.is_dir() != folder:
                raise UserError(f"cannot write {flag} {path}: it is a "
                                f"{'file' if folder else 'folder'}")
            if not folder and not path.is_file():
                raise UserError(f"cannot write {flag} {path}: it is not a regular file (a "
                                f"device or a pipe), which writing would replace")
            nearest = path if folder else path.parent
        if not nearest.is_dir():
            raise UserError(f"cannot write {flag} {path}: {nearest} is a file, not a folder")
        if not os.access(nearest, os.W_OK | os.X_OK):
            raise UserError(f"cannot write {flag} {path}: {nearest} is not writable")
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        raise UserError(f"cannot write {flag} {path}: {reason(error)}") from None


def make_folder(path, flag):
    """Create the folder `path` and its missing parents, or raise one `UserError` line saying why
    it cannot be; returns the folders it created, deepest first (for `remove_empty`)."""
    path = Path(path)
    check_writable(path, flag)
    created = list(itertools.takewhile(lambda p: not os.path.lexists(p), [path, *path.parents]))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # the path's own name is too long, /proc refuses, ...
        remove_empty(created)
        raise UserError(cannot_write(flag, path, error)) from None
    return created


def remove_empty(folders):
    """Remove `folders`, deepest first, while they are empty: what a refused or failed command
    created, never anything another process has put there since."""
    for folder in folders:
        if not os.path.lexists(folder):  # never made (its name was refused)
            continue
        try:
            folder.rmdir()
        except OSError:
            return


# --- failures to write -------------------------------------------------------------------------

# How libraries that raise no OSError quote the file system's answer: HDF5 gives the errno
# ("errno = 28"), TensorFlow's file writers the message ("...; No space left on device").
QUOTED_ERRNO = re.compile(r"errno = (\d+)")
QUOTED_MESSAGES = {os.strerror(code): code for code in (
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EIO, errno.ESTALE)}


def write_failure(error):
    """The `OSError` behind `error` (or the error it was raised from) when it says that writing
    failed, else None."""
    if isinstance(error, UserError):  # already one line that says what is wrong
        return None
    if isinstance(error, OSError) and error.errno is not None:
        return error
    if error.__cause__ is not None and write_failure(error.__cause__) is not None:
        return write_failure(error.__cause__)
    text = str(error)
    quoted = QUOTED_ERRNO.search(text)
    codes = ([int(quoted.group(1))] if quoted else
             [code for message, code in QUOTED_MESSAGES.items() if message in text])
    return OSError(codes[0], os.strerror(codes[0])) if codes else None


def naming(error, path):
    """`error`, when it is a failure to write, as an `OSError` naming `path` (not a temporary
    name beside it); any other error as it is."""
    failure = write_failure(error)
    if failure is None:
        return error
    named = OSError(failure.errno, failure.strerror, str(path))
    named.__cause__ = error
    return named


def cannot_write(flag, path, failure):
    """One line: `flag path` cannot be written, why, and the file inside it that failed."""
    inside = ""
    if failure.filename and Path(failure.filename) != Path(path):
        name = Path(failure.filename)
        inside = f" ({name.relative_to(path) if name.is_relative_to(path) else name})"
    return f"cannot write {flag} {path}: {reason(failure)}{inside}"


@contextlib.contextmanager
def writing(flag, path):
    """A failure to write inside the block becomes one `UserError` line naming `flag path`,
    the file that failed and the cause."""
    try:
        yield
    except Exception as error:  # any library's failure to write (`write_failure`)
        failure = write_failure(error)
        if failure is None:
            raise
        raise UserError(cannot_write(flag, path, failure)) from None


def reason(error):
    """The first line of what an error says, without the path that the message names anyway."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return (str(error).strip() or type(error).__name__).splitlines()[0]
