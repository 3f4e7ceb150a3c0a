"""Up-front checks of output paths, so a run never fails on its output after the work is done.

:func:`check_output_path` is called before any pair is scored. It refuses (with a
:class:`~semfidelity.scoring.config.UsageError` naming the flag) an output that is a folder, a
path below a file, a folder that cannot be created, and a folder in which no file can be
created: the final sorted rewrite of a score file goes through a temporary file beside it and
``os.replace``, so a writable ``out.csv`` in a read-only folder would otherwise fail only at the
end. Errors while writing (disk full, a closed pipe) can still happen during the run; the CLI
turns those into exit codes (docs/cli.md).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from semfidelity.scoring.config import UsageError

__all__ = ["check_output_path"]


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or its nearest ancestor that exists (``.`` for a relative path's root)."""
    for p in (folder, *folder.parents):
        if os.path.lexists(p):
            return p
    return Path(".")


def check_output_path(path: str | os.PathLike, flag: str) -> None:
    """Raise :class:`UsageError` unless ``path`` can be written and atomically replaced.

    Checks, in order: ``path`` is not a folder; an existing ``path`` is writable; its folder
    (or the nearest existing ancestor, for a folder the run will create) is a folder, not a
    file; that folder is writable; a temporary file can be created in it (created and removed
    at once). ``flag`` (``"--out"``) starts every message.
    """
    p = Path(path)
    shown = str(p)
    if p.is_dir():
        raise UsageError(
            f"{flag} {shown!r} is a folder; give a file path, e.g. {str(p / 'scores.csv')!r}"
        )
    if p.exists() and not os.access(p, os.W_OK):
        raise UsageError(f"{flag} {shown!r} exists and is not writable")
    folder = p.parent
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise UsageError(
            f"{flag} {shown!r}: {str(base)!r} is a file, not a folder; give a path in a folder"
        )
    if not os.access(base, os.W_OK | os.X_OK):
        what = "create the folder" if base != folder else "write"
        raise UsageError(f"{flag} {shown!r}: cannot {what} in {str(base)!r} (not writable)")
    if base != folder:
        return  # the run creates the folder; nothing more can be tried without creating it
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".check", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"{flag} {shown!r}: cannot create a file in {str(folder)!r} ({exc.strerror or exc}); "
            "the output is finished through a temporary file beside it"
        ) from None
    os.close(fd)
    os.unlink(tmp)
