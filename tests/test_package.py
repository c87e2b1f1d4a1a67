"""The package surface: every public name resolves, and importing tfstyle stays light."""

import importlib
import importlib.metadata
import subprocess
import sys

import pytest

import tfstyle


def test_every_public_name_resolves():
    for name in tfstyle.__all__:
        assert getattr(tfstyle, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    try:
        tfstyle.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_the_installed_version_is_the_packages_own():
    # pyproject.toml reads the version from tfstyle/_version.py, its one home, which tfstyle.__version__ is
    assert importlib.metadata.version("tfstyle") == tfstyle.__version__


@pytest.mark.slow
def test_import_tfstyle_does_not_import_tensorflow_until_used():
    code = "import sys, tfstyle; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"



def test_pyproject_reads_the_version_from_its_leaf_module():
    import re
    from pathlib import Path

    pyproject = (Path(tfstyle.__file__).parents[1] / "pyproject.toml").read_text()
    (attr,) = re.findall(r'^version = \{attr = "([\w.]+)"\}', pyproject, re.M)
    module, name = attr.rsplit(".", 1)
    assert module == "tfstyle._version" and getattr(importlib.import_module(module), name) == tfstyle.__version__


def test_pyproject_lists_every_package_and_ships_the_fast_stylizers():
    """The packages are listed by hand (so that saved_models/ installs as tfstyle.saved_models): a new
    package must be added there, or a plain pip install would leave it out."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11")
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {".".join(path.parent.relative_to(root).parts) for path in (root / "tfstyle").rglob("__init__.py")}
    assert set(setuptools["packages"]) == found | {"tfstyle.saved_models"}
    assert setuptools["package-dir"] == {"tfstyle.saved_models": "saved_models"}
    from tfstyle.fast.stylizer import shipped_models

    assert {"starry_night", "the_scream"} <= set(shipped_models())
