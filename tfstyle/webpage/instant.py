"""The page's instant styles: the fast stylizers (:mod:`tfstyle.fast.stylizer`) a server offers,
by name, with a label and a thumbnail of the painting each learned, and their pictures in one pass.

Each model is loaded once, when it is first used, and kept; a picture is made beside the run queue
(one at a time, so two requests at once do not double the memory), never waiting behind an
optimization: it takes well under a second. Only the models' records (``tfstyle_export.json``)
are read when the server starts, for the labels and the paintings' SHA-256 that recognize a
painting an instant style learned.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfstyle.errors import ModelError
from tfstyle.exports import read_export_info
from tfstyle.fast.stylizer import FastStylizer

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Painting:
    """What the page says of a shipped model: the painting it learned, and its thumbnail in ``static/``."""

    label: str
    thumbnail: str | None = None


# The shipped models' paintings (saved_models/): a model holds no painting, so its label and a small
# thumbnail (longest side 160 px, public domain; credits in docs/web.md) live here by the model's name.
PAINTINGS = {
    "starry_night": Painting("The Starry Night (van Gogh)", "painting-starry_night.jpg"),
    "the_scream": Painting("The Scream (Munch)", "painting-the_scream.jpg"),
}


class UnknownStyle(ModelError):
    """A request names an instant style this server does not have."""


def painting(name: str) -> Painting:
    """The label and thumbnail of the model ``name``: from :data:`PAINTINGS`, else its name in words."""
    return PAINTINGS.get(name) or Painting(name.replace("_", " ").replace("-", " ").strip().title() or name)


class InstantStyles:
    """The fast stylizers ``models`` (name → SavedModel folder), each loaded when first used."""

    def __init__(self, models: Mapping[str, Path]):
        self.paths = dict(models)
        infos = {name: read_export_info(path) or {} for name, path in self.paths.items()}
        self._sha256 = {name: info.get("settings", {}).get("style_sha256") for name, info in infos.items()}
        self._loading = threading.Lock()
        self._running = threading.Semaphore(1)

    def __bool__(self) -> bool:
        return bool(self.paths)

    def describe(self) -> list[dict]:
        """What the settings endpoint serves: each style's name, label and thumbnail address (or None)."""
        styles = []
        for name in self.paths:
            shown = painting(name)
            thumbnail = shown.thumbnail if shown.thumbnail and (STATIC / shown.thumbnail).is_file() else None
            styles.append({"name": name, "label": shown.label, "thumbnail": f"/static/{thumbnail}" if thumbnail else None})
        return styles

    def learned(self, sha256: str) -> str | None:
        """The style that learned the painting whose file has this SHA-256 (None: none did)."""
        return next((name for name, digest in self._sha256.items() if digest and digest == sha256), None)

    def check(self, name: object) -> str:
        """``name`` if it is one of the styles; else :class:`UnknownStyle` saying which there are."""
        if isinstance(name, str) and name in self.paths:
            return name
        there = ", ".join(self.paths) or "none"
        raise UnknownStyle(f"no instant style named {name!r} on this server (it has: {there})")

    def stylizer(self, name: str) -> FastStylizer:
        """The loaded model ``name``: loaded on first use (by one thread; the others wait), then kept."""
        with self._loading:  # FastStylizer.load keeps it; the lock makes one thread load it
            return FastStylizer.load(self.paths[self.check(name)])

    def picture(self, name: str, photo: Path, image_size: int) -> np.ndarray:
        """``photo`` in the style ``name``, its longer side ``image_size``: float32 ``[h, w, 3]`` in [0, 255].
        Raises :class:`tfstyle.errors.ModelError` (an unknown style, a model that does not load, a photo too small)."""
        stylizer = self.stylizer(name)
        with self._running:
            return stylizer(str(photo), image_size=image_size)
