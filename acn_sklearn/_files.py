"""Writing a file atomically: readers see the previous file or the new one, never half."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Write a file through a temporary file in its folder, then rename it into place.

    ``write`` fills the temporary file, which is flushed to disk and renamed onto
    ``path`` (:func:`os.replace`, atomic on POSIX and Windows). A process killed
    meanwhile leaves ``path`` as it was (and the temporary file); on any error,
    a full disk or Ctrl-C included, the temporary file is removed and ``path`` is
    left as it was. Each write has a temporary file of its own, so processes
    writing the same file at the same time leave one complete version of it.

    Parameters
    ----------
    path : path
        The file to write.
    write : callable
        ``write(handle)`` writes the content to the open binary file ``handle``.

    Returns
    -------
    Path

    Raises
    ------
    OSError
        If the file cannot be written (e.g. the disk is full): the message names
        the file and says it is unchanged.
    """
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(
                error.errno, f"could not write {path} ({error.strerror}); it is unchanged"
            ) from error
        raise
    return path
