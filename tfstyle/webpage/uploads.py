"""Uploaded images: checked by decoding them (never by their name), limited in bytes and in pixels,
and kept under names of our own in a private temporary folder that is removed when the server stops
(or, when it was killed, by the next server that starts).

Plain Pillow, no web framework: the app reads the bytes (stopping at the byte limit) and hands them here.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from tfstyle.errors import ImageError

MEGABYTE = 1024 * 1024
ORIENTATION = 0x0112  # the EXIF tag


class UploadError(ImageError):
    """An upload the server refuses; ``status`` is the HTTP status that says why (400, 413)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """How large an upload may be: ``bytes`` of file, ``pixels`` (width × height) of image."""

    bytes: int = 20 * MEGABYTE
    pixels: int = 50_000_000

    def too_large(self, size: int) -> UploadError:
        return UploadError(f"the file is larger than this server takes ({_megabytes(self.bytes)} at most)", status=413)


def check_image(data: bytes, limits: Limits) -> tuple[int, int]:
    """Decode ``data`` fully; return its (width, height) as shown (EXIF orientation applied), or raise :class:`UploadError` saying why it
    is refused: too many bytes, not an image, too many pixels (a decompression bomb too), corrupt."""
    if len(data) > limits.bytes:
        raise limits.too_large(len(data))
    if not data:
        raise UploadError("the file is empty")
    try:
        # Image.open reads the header only, and Pillow's own guard refuses one over 2 × MAX_IMAGE_PIXELS there.
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > limits.pixels:
                raise _too_many_pixels(width, height, limits)
            image.load()
            if image.getexif().get(ORIENTATION) in (5, 6, 7, 8):  # shown turned a quarter, as tfstyle reads it
                width, height = height, width
    except UnidentifiedImageError:
        raise UploadError("the file is not an image (or not in a format Pillow reads: JPEG, PNG, WebP, TIFF, ...)") from None
    except Image.DecompressionBombError:
        raise UploadError(
            f"the image declares more pixels than is safe to decode (a decompression bomb?); "
            f"this server takes at most {limits.pixels / 1e6:g} megapixels",
            status=413,
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise UploadError(f"the image is corrupt or truncated ({err})") from None
    return width, height


def _too_many_pixels(width: int, height: int, limits: Limits) -> UploadError:
    return UploadError(
        f"the image is {width}×{height} = {width * height / 1e6:.1f} megapixels; "
        f"this server takes at most {limits.pixels / 1e6:g} megapixels",
        status=413,
    )


def _megabytes(count: int) -> str:
    return f"{count / MEGABYTE:g} MB"


FOLDER_PREFIX = "tfstyle-web-"  # then the server's process id, a dash and mkdtemp's random part
_FOLDER_NAME = re.compile(re.escape(FOLDER_PREFIX) + r"(\d+)-[^/]+")


class PrivateFolder:
    """A temporary folder only this user can enter (mode 0700), for uploads and results, named for
    the server's process. Files get random names of our own; :meth:`remove_all` deletes the folder.
    A server killed outright cannot: the next one removes such folders (:func:`remove_stale_folders`)."""

    def __init__(self) -> None:
        remove_stale_folders(Path(tempfile.gettempdir()))
        self.path = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        os.chmod(self.path, 0o700)

    def write(self, data: bytes, suffix: str = "") -> Path:
        """Store ``data`` under a new random name (readable by this user only); return its path."""
        path = self.path / f"{secrets.token_hex(16)}{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def new_path(self, suffix: str) -> Path:
        """A new random name in the folder, for a file someone else writes (an atomic image save)."""
        return self.path / f"{secrets.token_hex(16)}{suffix}"

    def remove(self, path: Path | None) -> None:
        """Delete one of the folder's files (nothing outside it)."""
        if path is not None and path.parent == self.path:
            path.unlink(missing_ok=True)

    def remove_all(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def remove_stale_folders(parent: Path) -> list[Path]:
    """Delete the private folders in ``parent`` that this user's servers left when they were killed
    (kill -9, a crash, a power cut): those whose process is gone. Another server's, while it runs,
    and anything not ours, stay. Returns the folders deleted. (Only where process ids can be checked
    without harm: POSIX.)"""
    if os.name != "posix":
        return []
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        found = _FOLDER_NAME.fullmatch(entry.name)
        try:
            ours = entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid()
        except OSError:
            continue
        if found and ours and not _running(int(found[1])):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists (someone else's too: then it is not ours to judge)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
