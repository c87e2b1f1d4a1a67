"""SavedModel folders as tfstyle writes them: into a temporary sibling, renamed into place when
complete (so ``path`` holds either the previous export or the whole new one), with a record of what
was exported (``assets.extra/tfstyle_export.json``: its format, tfstyle's version, its kind and the
caller's details). ``path`` may be missing, empty, or an earlier tfstyle export (recognized by that
record), which is replaced; anything else is refused. Every exporter (the VGG16 features, the
optimizing stylizer, the fast stylizer) writes through :class:`Staging`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tensorflow as tf

from tfstyle._version import __version__
from tfstyle.errors import ExportError

# Written into every export; its presence marks a directory that a new export may replace.
INFO_FILE = os.path.join("assets.extra", "tfstyle_export.json")


def read_export_info(path: str | os.PathLike) -> dict[str, Any] | None:
    """What :func:`export_features` or :func:`export_stylizer` recorded in ``path``; None if not an export."""
    try:
        with open(os.path.join(path, INFO_FILE), encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("format") == "tfstyle-savedmodel" else None


class Staging:
    """A temporary sibling of the output: checked and created on enter, renamed into place by
    :meth:`save`, removed on any failure. Refuses an output that is not empty or an earlier export."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)  # as given, for messages and the caller
        self.target = Path(os.path.abspath(path))  # ``.`` and ``..`` have a real name and parent
        self.tmp: Path | None = None

    def __enter__(self) -> Staging:
        path = self.target
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                raise ExportError(f"output {self.path} exists and is not a directory")
            if any(path.iterdir()) and read_export_info(path) is None:
                raise ExportError(
                    f"output {self.path} is a non-empty directory that is not a tfstyle export; "
                    "choose another folder or remove it"
                )
        parent = path.parent
        for folder in (parent, *parent.parents):  # the nearest existing ancestor must be a folder
            if folder.exists():
                if not folder.is_dir():
                    raise ExportError(f"cannot write the export to {self.path}: {folder} is not a directory")
                break
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = parent / f".{path.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
            self.tmp.mkdir()
        except OSError as err:
            raise ExportError(f"cannot write the export to {self.path}: {_os_reason(err)}") from None
        return self

    def save(
        self, module: tf.Module, signatures: Mapping[str, tf.types.experimental.GenericFunction], info: dict[str, Any]
    ) -> None:
        tmp = self.tmp
        assert tmp is not None, "save() runs inside the with block"
        try:
            tf.saved_model.save(module, str(tmp), signatures=dict(signatures))
            info_path = tmp / INFO_FILE
            info_path.parent.mkdir(exist_ok=True)
            record = {"format": "tfstyle-savedmodel", "tfstyle_version": __version__, **info}
            record["signatures"] = sorted(signatures)
            info_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        except (OSError, tf.errors.OpError) as err:
            raise ExportError(f"could not write the SavedModel to {self.path}: {_os_reason(err)}") from None
        self._move_into_place(tmp)

    def _move_into_place(self, tmp: Path) -> None:
        path = self.target
        old = None
        try:
            if path.is_dir() and any(path.iterdir()):  # an earlier export: swap it out, then delete it
                old = path.parent / f".{path.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
                os.rename(path, old)
            os.replace(tmp, path)  # onto a missing or empty directory
        except OSError as err:
            if old is not None and not path.exists():
                os.rename(old, path)
                old = None
            raise ExportError(f"could not move the export into {self.path}: {_os_reason(err)}") from None
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.tmp = None

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def _os_reason(err: Exception) -> str:
    if isinstance(err, OSError):
        reason = err.strerror or str(err)
        return f"{reason}: {err.filename}" if err.filename else reason
    return (str(getattr(err, "message", "")) or str(err)).strip().splitlines()[0]

