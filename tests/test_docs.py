"""The README stays short with a working table of contents, and the docs' links and module names resolve."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
from conftest import ROOT

README = ROOT / "README.md"
PAGES = sorted([README, ROOT / "saved_models" / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "tools").rglob("*.md")])
# Generated from the config's metadata by its own tool (issue 18), so it may not exist in every checkout.
GENERATED = {ROOT / "docs" / "command-line.md"}
MAX_README_BYTES = 16 * 1024
# docs/ is for readers: a benchmark run's raw numbers and its page go to tools/bench/results/.
MAX_DOCS_DATA_BYTES = 100 * 1024  # any file in docs/ but a page or a picture
MAX_DOCS_MARKDOWN_BYTES = 150 * 1024  # every page in docs/ together, the generated flag reference aside
PICTURES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


def prose(markdown: str) -> str:
    """``markdown`` without its fenced code blocks and inline code spans."""
    markdown = re.sub(r"^```.*?^```[^\n]*$", "", markdown, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", markdown)


def headings(markdown: str) -> list[str]:
    markdown = re.sub(r"^```.*?^```[^\n]*$", "", markdown, flags=re.DOTALL | re.MULTILINE)
    return [match[1].strip() for match in re.finditer(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in headings(markdown):
        base = anchor(heading)
        out.add(f"{base}-{seen[base]}" if base in seen else base)
        seen[base] = seen.get(base, 0) + 1
    return out


def links(markdown: str) -> list[str]:
    """The targets of the markdown links and images outside code."""
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose(markdown))


def test_readme_is_short():
    size = README.stat().st_size
    assert size < MAX_README_BYTES, f"README.md is {size} bytes; move the depth to docs/"


def test_readme_table_of_contents_lists_every_section_and_resolves():
    markdown = README.read_text(encoding="utf-8")
    match = re.search(r"^## Contents\n(.*?)(?=^## )", markdown, flags=re.DOTALL | re.MULTILINE)
    assert match, "README.md has no '## Contents' section"
    listed = re.findall(r"\]\(#([^)]+)\)", match[1])
    sections = [anchor(h) for h in re.findall(r"^## (.+)$", prose(markdown), flags=re.MULTILINE)]
    assert listed == [s for s in sections if s != "contents"], "the contents should list every ## section, in order"
    assert set(listed) <= anchors(markdown)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_point_to_existing_files_and_headings(page: Path):
    markdown = page.read_text(encoding="utf-8")
    broken = []
    for link in links(markdown):
        if re.match(r"[a-z]+:", link):
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if target in GENERATED:
            continue
        if not target.exists():
            broken.append(f"{link} (no such file)")
        elif fragment and target.suffix == ".md" and fragment not in anchors(target.read_text(encoding="utf-8")):
            broken.append(f"{link} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_docs_hold_no_large_data_file():
    files = [path for path in (ROOT / "docs").rglob("*") if path.is_file() and path.suffix.lower() not in {".md", *PICTURES}]
    large = [f"{path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)" for path in files if path.stat().st_size > MAX_DOCS_DATA_BYTES]
    assert not large, f"data files over {MAX_DOCS_DATA_BYTES:,} bytes in docs/ (records go to tools/bench/results/): {large}"


def test_the_docs_pages_together_stay_short_enough_to_read():
    total = sum(page.stat().st_size for page in (ROOT / "docs").rglob("*.md") if page not in GENERATED)
    assert total <= MAX_DOCS_MARKDOWN_BYTES, (
        f"docs/'s pages (command-line.md aside) are {total:,} bytes, over {MAX_DOCS_MARKDOWN_BYTES:,}: "
        "move run-by-run records to tools/bench/results/ or cut them to what a reader needs"
    )


def test_docs_start_with_a_summary_and_a_link_back_to_the_readme():
    for page in (ROOT / "docs").glob("*.md"):
        title, opening = re.split(r"\n\s*\n", page.read_text(encoding="utf-8"))[:2]
        assert title.startswith("# ") and "\n" not in title, page.name
        assert "(../README.md)" in opening, f"{page.name} should say what it is and link back to the README"


def test_module_paths_and_names_in_the_docs_exist():
    missing = []
    for page in PAGES:
        markdown = page.read_text(encoding="utf-8")
        for path in sorted(set(re.findall(r"\btfstyle/[\w/]*(?:\.py|/)", markdown))):
            if not (ROOT / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
        for name in sorted(set(re.findall(r"\btfstyle(?:\.[A-Za-z_]\w*)+", markdown))):
            if not _resolves(name):
                missing.append(f"{page.relative_to(ROOT)}: {name}")
    assert not missing, f"the docs name modules or objects that do not exist: {missing}"


def test_the_tools_the_docs_name_exist():
    """Every ``python -m tools...`` command and ``tools/...`` file in the pages names a real one."""
    missing = []
    for page in PAGES:
        markdown = page.read_text(encoding="utf-8")
        for module in sorted(set(re.findall(r"python -m (tools(?:\.\w+)*)", markdown))):
            if importlib.util.find_spec(module) is None:
                missing.append(f"{page.relative_to(ROOT)}: python -m {module}")
        for path in sorted(set(re.findall(r"(?<![\w/.])tools/[\w/]*\.(?:py|md|json)\b", markdown))):
            if not (ROOT / path).exists() and not (page.parent / path).exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
    assert not missing, f"the docs name tools that do not exist: {missing}"


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        try:
            for attribute in parts[end:]:
                value = getattr(value, attribute)
        except AttributeError:
            return False
        return True
    return False


def test_readmes_first_commands_install_the_lean_package_and_stylize_pictures_shipped_with_it():
    """A fresh clone elsewhere has no ../shared: the first command stylizes samples/, after `pip install -e .`
    (not the dev extra), and the second installs what the tests need and runs them."""
    first, second = re.findall(r"^```bash\n(.*?)\n```", README.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)[:2]
    install, command = first.split(" && ")
    assert install == "pip install -e ." and command.startswith("python -m tfstyle.run ")
    words = command.split()
    for flag in ("--content", "--style"):
        path = words[words.index(flag) + 1]
        assert path.startswith("samples/") and (ROOT / path).is_file(), path
    assert (ROOT / "samples" / "CREDITS.md").is_file()
    assert second == "pip install -e '.[dev]' && python -m pytest"
