"""Files and folders only their owner may read: folders 0700, files 0600.

Modes are set where trapline creates what it keeps (the data dir, the SQLite database, blobs,
the secret key), never through the process umask, which the embedded worker and any user
code in the same process share.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: Mode of the folders trapline creates: only their owner may list or enter them.
PRIVATE_FOLDER = 0o700
#: Mode of the files trapline creates: only their owner may read or write them.
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Make ``path`` and its missing parents, each only its owner may use (``mkdir -p``).

    Folders that exist already keep their mode: they may be shared on purpose.
    """
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        # Made meanwhile by another thread or process: fine. The umask can only take bits
        # away, so what is made is never more open than 0700.
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_FOLDER)
    return path


def private_file(path: Path) -> bool:
    """Create ``path`` empty, only its owner may read it, unless it exists; whether it was made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    return True
