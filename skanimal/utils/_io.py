"""Writing files atomically: a temporary file in the same folder, then a rename."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import os
import secrets
from contextlib import contextmanager

__all__ = ["atomic_path", "write_text_atomic"]


def _create_temp(folder, stem, ext):
    """Create a new empty file in ``folder`` (mode 0o666 less the umask)."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{stem}.{secrets.token_hex(6)}.tmp{ext}")
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file in {folder!r}.")


@contextmanager
def atomic_path(final_path):
    """Yield a temporary path next to ``final_path``; move it there on success.

    The temporary file is in the same folder (so :func:`os.replace` is
    atomic), gets the permissions of a newly created file, and is removed if
    the body raises.
    """
    final_path = os.fspath(final_path)
    folder = os.path.dirname(final_path) or "."
    stem, ext = os.path.splitext(os.path.basename(final_path))
    tmp = _create_temp(folder, stem, ext)
    try:
        yield tmp
        os.replace(tmp, final_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically; readers never see half a file."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
