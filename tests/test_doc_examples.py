"""The examples of docs/pipelines.md and docs/python-api.md that say so run as written.

Each page's tested sections run in order, their python blocks in one namespace, in a temporary
folder that holds the files they read: ``photo1.jpg``, ``photo2.jpg`` and ``painting.jpg`` (the
shared test images when ``../shared`` is there, else synthetic pictures of the same 4:3 shape).
"""

from __future__ import annotations

import re
import shutil
import sys
import types
from pathlib import Path

import pytest
from conftest import ROOT, SHARED_IMAGES, synthetic_image
from PIL import Image

DOCS = ROOT / "docs"
PIPELINES = (DOCS / "pipelines.md", ("## A style loss for training a Keras model",))
PYTHON_API = (DOCS / "python-api.md", ("## Batches and datasets", "## Callbacks"))
INPUTS = {
    "photo1.jpg": SHARED_IMAGES / "content" / "tubingen.jpg",
    "photo2.jpg": SHARED_IMAGES / "content" / "golden_gate.jpg",
    "painting.jpg": SHARED_IMAGES / "style" / "starry_night.jpg",
}


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines, out, inside, fenced = markdown.splitlines(), [], False, False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.rstrip() == heading:
            inside = True
            continue
        if inside and not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        if inside:
            out.append(line)
    if not inside:
        raise LookupError(f"no heading {heading!r}")
    return "\n".join(out)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.DOTALL | re.MULTILINE)


def write_inputs(folder: Path) -> None:
    for seed, (name, shared) in enumerate(INPUTS.items()):
        if shared.is_file():
            shutil.copyfile(shared, folder / name)
        else:
            Image.fromarray(synthetic_image(96, 128, seed=seed)).save(folder / name, quality=95)


def run_examples(page: Path, headings: tuple[str, ...], folder: Path, monkeypatch) -> dict:
    markdown = page.read_text(encoding="utf-8")
    blocks = [block for heading in headings for block in python_blocks(section(markdown, heading))]
    assert blocks, f"no python examples under {headings} in {page.name}"
    write_inputs(folder)
    monkeypatch.chdir(folder)
    # A real module, so that AutoGraph (tf.data's map) can find the functions' source and globals.
    module = types.ModuleType(f"doc_examples_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for number, code in enumerate(blocks, start=1):
        # From a file, so that tracebacks and AutoGraph (which reads the source) can find the code.
        path = folder / f"{page.stem}_block_{number}.py"
        path.write_text(code, encoding="utf-8")
        exec(compile(code, str(path), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_pipelines_style_loss_examples_run(tmp_path, monkeypatch):
    namespace = run_examples(*PIPELINES, tmp_path, monkeypatch)
    assert len(namespace["history"].history["loss"]) == 3
    assert {"total", "content", "style"} <= set(namespace["terms"])


@pytest.mark.slow
def test_python_api_batch_and_callback_examples_run(tmp_path, monkeypatch):
    namespace = run_examples(*PYTHON_API, tmp_path, monkeypatch)
    assert namespace["result"].image.shape[0] == 2
    assert sorted(p.name for p in tmp_path.glob("stylized_*.png")) == [
        "stylized_0.png", "stylized_0_0.png", "stylized_0_1.png", "stylized_1.png",
    ]  # fmt: skip
    assert any((tmp_path / "runs").iterdir())


def test_section_ends_at_the_next_heading_outside_code():
    markdown = (
        "# T\n## Batches and datasets\ntext\n```python\n# comment\nx = 1\n```\n"
        "### Sub\n```python\ny = 2\n```\n## Next\n```python\nz = 3\n```\n"
    )
    assert python_blocks(section(markdown, "## Batches and datasets")) == ["# comment\nx = 1\n", "y = 2\n"]
