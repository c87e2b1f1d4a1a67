"""tools/bench/profile.py: oneDNN's own clock of a step, read from its verbose log."""

from __future__ import annotations

from tools.bench import profile

# Two steps' lines of an ONEDNN_VERBOSE=1 log (oneDNN 3's format, then 2's), amid others.
ONEDNN_LOG = """onednn_verbose,v1,info,oneDNN v3.7.1
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,9.0
bench: counted steps begin
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,0.5
onednn_verbose,v1,primitive,exec,cpu,pooling,jit:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:pooling_max,mb1ic64_ih8oh4kh2sh2ph0_iw8ow4kw2sw2pw0,0.25
onednn_verbose,exec,cpu,convolution,jit:avx2,backward_data,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_g2ic4oc8_ih4oh4kh3sh1dh0ph1_iw4ow4kw3sw1dw0pw1,0.75
some other line, exec
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,1.5
onednn_verbose,v1,primitive,exec,cpu,pooling,jit:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:pooling_max,mb1ic64_ih8oh4kh2sh2ph0_iw8ow4kw2sw2pw0,0.25
onednn_verbose,exec,cpu,convolution,jit:avx2,backward_data,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_g2ic4oc8_ih4oh4kh3sh1dh0ph1_iw4ow4kw3sw1dw0pw1,0.25
bench: counted steps end
onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward_training,src:f32::blocked:acdb::f0,,alg:convolution_direct,mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1,9.0
"""


def test_the_onednn_clock_counts_each_step_between_the_marks_per_kind_and_convolution():
    clock = profile.onednn_clock(ONEDNN_LOG, steps=2)
    assert clock["by_kind_ms"] == {"convolution": 1.5, "pooling": 0.25}  # per step; the 9 ms outside the marks left out
    first, grouped = clock["convolutions"]
    flops = 2.0 * 3 * 64 * 8 * 8 * 3 * 3  # 2·Cin·Cout·H·W·kh·kw
    assert first == {"problem": "mb1_ic3oc64_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1", "direction": "forward_training",
                     "runs": 1.0, "ms": 1.0, "flops": flops, "gflops_per_s": flops / 1e6}  # fmt: skip
    assert grouped["direction"] == "backward_data" and grouped["flops"] == 2.0 * 2 * 8 * 4 * 4 * 9  # Cin/groups
    assert clock["convolution_ms"] == 1.5 and clock["convolution_flops"] == flops + grouped["flops"]
