"""One writer per folder: a run, a search or an export holds its folder's lock while it writes.

The lock is FOLDER/.lock, a file locked with flock(2) that names its holder (command, PID, host,
since when). A second process aimed at the folder is refused in one line naming the holder. The
kernel drops the lock when its holder ends, however it ends (kill -9 included), so a lock file
left behind is simply taken over, with a note. The workers of a distributed search take no lock:
they share the chief's folder, as keras-tuner intends.
"""

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from recipes.runs import artifacts, interrupts
from recipes.errors import UserError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def locked(folder, command):
    """Hold `folder` (created if missing) for this process's `command` (run, tune, export), or
    raise one `UserError` line naming the process that holds it. A folder the block leaves
    empty, it removes again, with the parents it created."""
    folder = Path(folder)
    created = artifacts.make_folder(folder, "--out")
    try:
        with artifacts.writing("--out", folder):
            fd = acquire(folder / LOCK_FILE, command)
        try:
            yield
        finally:
            release(folder / LOCK_FILE, fd)
    finally:
        artifacts.remove_empty(created)


def acquire(path, command):
    """Lock the file `path`; returns its descriptor, to hold until `release`."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe(holder_of(fd))
            os.close(fd)
            raise UserError(f"{path.parent} is in use by {holder}; wait for it to finish, or "
                            f"choose another --out") from None
        if same_file(fd, path):
            break
        os.close(fd)  # its holder released it and removed it meanwhile: lock the new one
    left = holder_of(fd)
    if left is not None:  # a holder is named, which ended without removing the file
        print(f"note: taking over {path.parent} from {describe(left)}, which ended without "
              f"releasing it", file=sys.stderr)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                             "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
    return fd


def release(path, fd):
    """Remove the lock file, then unlock it: a process that opened it meanwhile sees it gone."""
    with interrupts.shielded():
        with contextlib.suppress(OSError):
            if same_file(fd, path):
                path.unlink()
        os.close(fd)


def same_file(fd, path):
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def holder_of(fd):
    """What the lock file says of its holder, or None (empty: just created, or being written)."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def describe(holder):
    if holder is None:
        return "another process"
    return (f"`{holder.get('command')}` (PID {holder.get('pid')} on {holder.get('host')}, since "
            f"{holder.get('since')})")
