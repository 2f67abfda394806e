"""Reading a saved store's files without ever leaving its directory.

A saved store may come from someone else (a shared volume, a downloaded archive), so opening one
must not be a way to read other files. Every file is opened relative to the store directory's
descriptor, by a bare name, with ``O_NOFOLLOW`` (a symlink, in or out of the directory, is
refused) and ``O_NONBLOCK`` (a FIFO cannot block the open), then ``fstat`` must show a regular
file of exactly the size the manifest records (so ``/dev/zero`` or a device node is refused
before anything is read, and no read is unbounded).

Each file is then held for the life of the store: files up to ``SMALL`` bytes are read into
memory, larger ones are memory-mapped read-only. A mapping keeps the file's contents reachable
after the directory is renamed or deleted, so a store stays whole when ``save(path,
overwrite=True)`` replaces its directory (the documented refresh). What no check can prevent:
a file rewritten *in place* (truncated) while mapped faults on access (SIGBUS); trendcalc's own
``save`` never writes in place.
"""

from __future__ import annotations

import mmap
import os
import stat
from pathlib import Path

from ..errors import StoreFormatError

SMALL = 1 << 20  # files up to this size are read into memory; larger ones are mapped
MAX_MANIFEST_BYTES = 64 << 20  # a manifest lists files: ~400 bytes each, so ~150,000 files
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_DIR_FD = os.open in os.supports_dir_fd

Buffer = bytes | mmap.mmap


def bare_name(name: object) -> bool:
    """True when ``name`` can only name a file directly inside the store directory."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
    )


class StoreDir:
    """An open store directory: files are read by bare name, relative to its descriptor."""

    def __init__(self, root: Path):
        self.root = root
        try:
            self._fd = os.open(root, os.O_RDONLY | _DIRECTORY) if _DIR_FD else -1
            if not root.is_dir():
                raise NotADirectoryError(str(root))
        except OSError:
            raise StoreFormatError((str(root),), "no saved store here (not a directory)") from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> StoreDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error(self, name: str, message: str) -> StoreFormatError:
        return StoreFormatError((str(self.root), name), message)

    def _open(self, name: str) -> int:
        if not bare_name(name):
            raise self.error("manifest.json", f"invalid file name {name!r}")
        flags = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            if self._fd >= 0:
                return os.open(name, flags, dir_fd=self._fd)
            path = self.root / name
            if not stat.S_ISREG(os.lstat(path).st_mode):
                raise self.error(name, "not a regular file")
            return os.open(path, flags)
        except FileNotFoundError:
            raise self.error(name, "missing (the store is incomplete)") from None
        except OSError as exc:  # ELOOP: a symlink; EISDIR, EACCES, ...
            if _is_link(self.root / name):
                raise self.error(name, "is a symbolic link: a store's files must be inside its directory") from None
            raise self.error(name, f"cannot open: {exc.strerror}") from None

    def read(self, name: str, size: int | None, *, limit: int = MAX_MANIFEST_BYTES) -> Buffer:
        """The contents of ``name``, which must be a regular file of ``size`` bytes (or, when
        ``size`` is None, of at most ``limit`` bytes): bytes when small, else a read-only map."""
        fd = self._open(name)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise self.error(name, f"not a regular file ({_kind(st.st_mode)}): a store holds only regular files")
            if size is None:
                if st.st_size > limit:
                    raise self.error(name, f"has {st.st_size} bytes, more than the {limit} this file may have")
                size = st.st_size
            elif st.st_size != size:
                raise self.error(name, f"has {st.st_size} bytes, the manifest says {size}: truncated or changed")
            if size == 0:
                return b""
            if size <= SMALL:
                return _read_exactly(fd, size, lambda: self.error(name, "shrank while being read"))
            try:
                return mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise self.error(name, f"cannot map: {exc}") from None
        finally:
            os.close(fd)


def _read_exactly(fd: int, size: int, short: object) -> bytes:
    chunks = []
    left = size
    while left:
        chunk = os.read(fd, min(left, 8 << 20))
        if not chunk:
            raise short()  # type: ignore[operator]
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"
