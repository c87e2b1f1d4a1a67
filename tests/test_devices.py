"""Devices by name: the default, a short or full name, and one line for a device TensorFlow lacks."""

import pytest

from tfstyle.devices import describe, logical_device, pick_device
from tfstyle.errors import ConfigError


def test_a_device_is_found_by_its_short_or_full_name():
    assert logical_device("CPU:0") == logical_device("/device:CPU:0") == pick_device("CPU:0")
    assert pick_device(None).endswith(("CPU:0", "GPU:0"))
    assert describe(None, logical_device("CPU:0")) == "CPU:0"


def test_a_missing_device_names_those_there_are():
    with pytest.raises(ConfigError, match=r"device 'GPU:7' is not available; TensorFlow sees .*CPU:0"):
        logical_device("GPU:7")
