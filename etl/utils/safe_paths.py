"""Paths of a tenant's own, opened so that a link cannot lead them somewhere else.

A tenant's folders are written by its own processes too (tenant transfer code runs there), so
a link inside them (``lake/beta/extract -> lake/alpha/extract``) would turn the next write into
a write to another tenant's files. Two rules close that:

* below a lake's root nothing is followed: every folder is opened component by component with
  ``O_NOFOLLOW | O_DIRECTORY`` from the root's descriptor, files are created with ``O_EXCL``
  in the folder so opened and moved into place with ``os.replace`` between the two folders'
  descriptors (a rename never follows a link); a link on the way fails the write, naming it;
* a file the framework reads from a tenant's folder (``config.yaml``, ``assets/transfer.py``)
  must really be in that folder: the file is opened, then the path of what was opened
  (``/proc/self/fd``) is compared with the folder, so a link to a file elsewhere is refused,
  whatever it was swapped for in between.

The configured root itself (``storage.root``, the tenants folder) may be a link: it is the
operator's choice, not the tenant's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_PROC_FD = Path("/proc/self/fd")


class LinkError(PermissionError):
    """A path that must stay in its folder goes through a link (or leads out of it):
    ``str()`` is the path and ``detail``, what is wrong with it and what to do."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(errno.EACCES, detail, path)
        self.path = path
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.path} {self.detail}"


def link_error(path: str, why: str = "nothing below the lake root may be one") -> LinkError:
    """``path is a symbolic link (to target)``, and why that is refused."""
    try:
        target = f" (to {os.readlink(path)})"
    except OSError:
        target = ""
    return LinkError(path, f"is a symbolic link{target}; {why}: remove the link")


@contextlib.contextmanager
def directory_beneath(root: str, parts: Sequence[str], *, create: bool) -> Iterator[int]:
    """A descriptor of ``root/parts...``, no part followed if it is a link; missing folders
    are created when ``create`` (the root too, which may itself be a link). Raises
    :class:`LinkError` naming the first link below the root."""
    if create:
        os.makedirs(root, exist_ok=True)
    fd = os.open(root, _DIR_FLAGS)
    try:
        path = root
        for part in parts:
            if part in ("", ".", "..") or "/" in part:
                raise ValueError(f"{part!r} is not a folder name below {root}")
            path = f"{path}/{part}"
            nxt = _open_dir(fd, part, path, create)
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def _open_dir(parent: int, name: str, path: str, create: bool) -> int:
    for _ in range(2):
        try:
            return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=parent)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR) and is_link(parent, name):
                raise link_error(path) from None
            raise
    return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent)


def is_link(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def create_file(directory: int, name: str) -> int:
    """A new file ``name`` in the folder ``directory`` (never an existing one, never a link)."""
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                   0o666, dir_fd=directory)


def fd_path(fd: int) -> str:
    """A path that opens exactly the file behind ``fd`` (Linux's ``/proc/self/fd``)."""
    return str(_PROC_FD / str(fd))


def unresolved_part(base: str, relative: str) -> str | None:
    """The first path below ``base`` (a resolved folder) on the way to ``relative`` that is a
    link, or None when ``base/relative`` resolves to itself (missing parts count as fine)."""
    path = base
    for part in relative.split("/"):
        path = f"{path}/{part}"
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return path
        except FileNotFoundError:
            return None
    return None


def _refuse_outside(file: Path, real: Path, folder: Path) -> None:
    if not real.is_relative_to(folder):
        raise LinkError(str(file), (
            f"leads to {real}, outside its folder {folder}; the framework reads no file of a "
            "tenant through a link out of the tenant's folder: put the file itself there"))


def own_folder(root: Path, name: str) -> Path:
    """The folder ``name`` of ``root`` as it must be: in the resolved root, itself no link."""
    return root.resolve() / name


def open_inside(file: Path, folder: Path) -> BinaryIO:
    """``file`` opened for reading if what opens is a regular file inside ``folder``.

    ``folder`` is taken as written (see :func:`own_folder`): a folder that is itself a link
    elsewhere holds nothing inside it. The path checked is the one of the file actually opened,
    so a link swapped in after a check cannot lead the read elsewhere. Raises
    :class:`LinkError` otherwise (naming where the file really is), ``OSError`` if it cannot be
    opened.
    """
    _refuse_outside(file, file.resolve(), folder)  # before opening anything out there
    fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:  # and again on what was opened, whatever was swapped in between
        _refuse_outside(file, Path(os.readlink(fd_path(fd))) if _PROC_FD.is_dir()
                        else file.resolve(), folder)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LinkError(str(file), "is not a regular file; write the file itself there")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
