"""Atomic file writes for the writers of :mod:`ecgsk.io` (NumPy and the stdlib only).

Every writer first writes a temporary file in the destination folder, named
``.{name}.ecgsk-tmp-{random}``, and renames it over ``name`` with
:func:`os.replace` once it is complete.  A failure (disk full, read-only
folder) or Ctrl-C removes the temporary file, so every output file is either
complete or absent.  Only a hard kill (SIGKILL, power loss) can leave a
temporary file behind; its name says so, and :func:`remove_stale_temporaries`
(called by :func:`ecgsk.generate` before it writes) deletes it.
"""

import contextlib
import os
import secrets
import shutil
from pathlib import Path

__all__ = ["TMP_TAG", "atomic_path", "atomic_dir", "write_bytes_atomic", "temporary_target", "remove_stale_temporaries"]

#: Marks a temporary name: ``.{target}{TMP_TAG}{hex}``.
TMP_TAG = ".ecgsk-tmp-"


def _temp_name(path):
    path = Path(path)
    return path.with_name(f".{path.name}{TMP_TAG}{secrets.token_hex(4)}")


def temporary_target(name):
    """The file name a temporary name stands for, or None when ``name`` is not one of ours.

    Examples
    --------
    >>> temporary_target(".12.asc.ecgsk-tmp-0a1b2c3d"), temporary_target("12.asc")
    ('12.asc', None)
    """
    if not name.startswith(".") or TMP_TAG not in name:
        return None
    return name[1:].rsplit(TMP_TAG, 1)[0]


def _finish(cleanup):
    """Run ``cleanup`` to the end even if Ctrl-C arrives meanwhile; re-raise that Ctrl-C afterwards."""
    pending = None
    while True:
        try:
            cleanup()
            break
        except KeyboardInterrupt as exc:  # a second Ctrl-C must not leave the temporary behind
            pending = exc
    if pending is not None:
        raise pending


def _unlink_quietly(path):
    def unlink():
        with contextlib.suppress(OSError):
            os.unlink(path)

    _finish(unlink)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any error delete it.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     target = os.path.join(d, "a.txt")
    ...     with atomic_path(target) as tmp:
    ...         _ = open(tmp, "w").write("hello")
    ...     os.listdir(d), open(target).read()
    (['a.txt'], 'hello')
    """
    path = Path(path)
    tmp = _temp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        _unlink_quietly(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = os.fspath(path)  # ENOSPC from os.write names no file
        raise


@contextlib.contextmanager
def atomic_dir(out_dir):
    """Yield a temporary folder inside ``out_dir``, removed (with whatever is left in it) afterwards.

    Writers that must produce several files (a WFDB ``.dat`` and ``.hea``)
    write them there and move each into ``out_dir`` with :func:`os.replace`,
    in the order that keeps the folder consistent.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_dir(d) as tmp:
    ...         _ = open(os.path.join(tmp, "x"), "w").write("1")
    ...         os.replace(os.path.join(tmp, "x"), os.path.join(d, "x"))
    ...     os.listdir(d)
    ['x']
    """
    tmp = Path(out_dir) / f".dir{TMP_TAG}{secrets.token_hex(4)}"
    try:
        os.mkdir(tmp)
        yield tmp
    finally:
        _finish(lambda: shutil.rmtree(tmp, ignore_errors=True))


def write_bytes_atomic(path, data):
    """Write ``data`` to ``path`` atomically, with unbuffered OS calls (cheap for many small files).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_bytes_atomic(os.path.join(d, "b.bin"), b"123")
    ...     os.listdir(d)
    ['b.bin']
    """
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def remove_stale_temporaries(out_dir, targets=None):
    """Delete temporary files a killed writer left in ``out_dir``; returns the paths removed.

    Parameters
    ----------
    out_dir : path-like
    targets : set of str, optional
        Only remove temporaries standing for these file names (so that shards
        sharing a folder leave each other's files in flight alone).  Default:
        every temporary of ours.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = open(os.path.join(d, ".3.asc.ecgsk-tmp-00ff00ff"), "w").write("1 2")
    ...     [p.name for p in remove_stale_temporaries(d)], os.listdir(d)
    (['.3.asc.ecgsk-tmp-00ff00ff'], [])
    """
    removed = []
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return removed
    for entry in os.scandir(out_dir):
        target = temporary_target(entry.name)
        if target is None:
            continue
        if entry.is_dir(follow_symlinks=False):
            if target.startswith("dir") and targets is None:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
            continue
        if targets is None or target in targets:
            _unlink_quietly(entry.path)
            removed.append(Path(entry.path))
    return removed
