"""The package surface: every public name resolves, and importing tfstyle stays light."""

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
    # pyproject.toml reads the version from tfstyle.__version__, its one home
    assert importlib.metadata.version("tfstyle") == tfstyle.__version__


@pytest.mark.slow
def test_import_tfstyle_does_not_import_tensorflow_until_used():
    code = "import sys, tfstyle; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
