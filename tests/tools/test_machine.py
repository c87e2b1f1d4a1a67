"""tools/machine.py names the machine a number was measured on."""

from __future__ import annotations

import pytest

from tfstyle.network.speed import cpuinfo_fields
from tools.machine import cpu_model

ZEN5_HOST = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
"""


def test_a_generic_model_name_gets_the_family_and_model_numbers_that_tell_generations_apart():
    assert cpu_model(cpuinfo_fields(ZEN5_HOST)) == "AMD EPYC (family 26, model 2)"


def test_a_cpuinfo_without_numbers_gives_the_name_alone():
    assert cpu_model(cpuinfo_fields("model name\t: Some CPU\n")) == "Some CPU"


def test_a_cpuinfo_without_a_model_name_is_refused_so_the_caller_falls_back():
    with pytest.raises(ValueError, match="model name"):
        cpu_model(cpuinfo_fields("processor\t: 0\nflags\t\t: fpu\n"))
