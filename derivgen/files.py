"""Reading sources and writing generated modules, with errors a user can act on.

Modules are written atomically: the text goes to a temporary file in the target's
directory, which then replaces the target in one ``os.replace``. An interrupted or
failing write leaves the old file (or no file), never half a module. Text is
written as UTF-8 with ``\\n`` line endings on every platform, so output is
byte-identical; reading turns ``\\r\\n`` into ``\\n``, so a checkout with Windows
line endings neither changes a source's hash nor makes its module look stale.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .errors import DerivgenError


class FileAccessError(DerivgenError):
    """A source cannot be read or an output cannot be written."""


def read_text(path: Path, shown: str | None = None) -> str:
    """The text of ``path``; ``shown`` is how errors name it (the path as the user wrote it)."""
    shown = shown or str(path)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise FileAccessError(f"{shown}: error: no such file") from None
    except IsADirectoryError:
        raise FileAccessError(f"{shown}: error: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise FileAccessError(f"{shown}: error: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise FileAccessError(f"{shown}: error: cannot read: {exc.strerror or exc}") from None


def read_existing(path: Path, shown: str | None = None) -> str | None:
    """The text of ``path``, or None when there is no such file yet."""
    if not path.exists():
        return None
    return read_text(path, shown)


def write_atomic(path: Path, text: str, shown: str | None = None) -> None:
    """Replace ``path`` with ``text`` in one step, creating missing parent directories."""
    shown = shown or str(path)
    data = text.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
        temp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        # 0o666 minus the umask, like any new file; an existing file keeps its mode.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise FileAccessError(f"{shown}: error: cannot write: {_reason(exc, path)}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException as exc:  # KeyboardInterrupt too: never leave the temporary behind
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileAccessError(f"{shown}: error: cannot write: {_reason(exc, path)}") from None
        raise


def _reason(exc: OSError, path: Path) -> str:
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        # mkdir or open under a path whose "directory" is a file: name that file.
        for parent in path.parents:
            if parent.exists() and not parent.is_dir():
                return f"{display_path(parent)} is a file, not a directory"
    return exc.strerror or str(exc)


def display_path(path: Path) -> str:
    """``path`` as messages show it: relative to the working directory when that is shorter."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive, on Windows
        return absolute.as_posix()
    return Path(relative).as_posix() if len(relative) < len(str(absolute)) else absolute.as_posix()
