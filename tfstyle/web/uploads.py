"""Uploaded images: checked by decoding them (never by their name), limited in bytes and in pixels,
and kept under names of our own in a private temporary folder that is removed when the server stops.

Plain Pillow, no web framework: the app reads the bytes (stopping at the byte limit) and hands them here.
"""

from __future__ import annotations

import io
import os
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


class PrivateFolder:
    """A temporary folder only this user can enter (mode 0700), for uploads and results. Files get
    random names of our own; :meth:`remove_all` deletes the folder (also at interpreter exit)."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="tfstyle-web-"))
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
