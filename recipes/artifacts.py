"""Writing artifacts so that a killed process leaves the old file or the new one, never half.

Everything is written to a temporary name beside its destination and renamed into place
(`os.replace` is atomic on one file system).
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

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
    path.parent.mkdir(parents=True, exist_ok=True)
    # Every suffix kept (.weights.h5, not .h5): Keras picks the format by the whole ending.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix="".join(path.suffixes))
    os.close(fd)
    _as_if_created_normally(tmp, 0o666)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a temporary folder next to `path`; on success it replaces `path` whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    _as_if_created_normally(tmp, 0o777)
    try:
        yield tmp
        if path.exists():  # swap: move the old one aside, the new one in, then drop the old
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def check_writable(path, flag, *, folder=True):
    """Refuse a destination that cannot be written, before anything is: a `UserError` naming the
    file in the way or the folder that refuses writes. `folder`: `path` is a folder to write
    into, else a file to write.

    Checked rather than tried: trying would create folders on the way to the failure. (Tests
    run as root, for whom permissions do not stop writes; a file in the way still does.)
    """
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        raise UserError(f"cannot write {flag} {path}: it is a {'file' if folder else 'folder'}")
    ancestor = path.parent if not path.exists() or not folder else path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"cannot write {flag} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {flag} {path}: {ancestor} is not writable")


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
