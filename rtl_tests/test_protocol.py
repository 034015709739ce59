"""AXI4-Stream protocol of the bare top through cocotbext-axi bus models (cocotb_axis.py):
back-to-back frames with gaps and back-pressure, resets (long ones and one-cycle pulses, with
TREADY low throughout) in the middle of a frame, of an image and of a result, TLAST early and
late. The golden results are computed here and handed over in a file.
"""
from __future__ import annotations

import numpy as np
import pytest

from rtl_tests.conftest import EXPORTED, exported_run, network_project

from core import golden
from core import ir as IR
from core.frames import FRAME_ERROR, frame_image, sample_images
from core.network import Network
from core.random_ir import random_network

NET = "c8 p2 f16 r"          # small: the bus models run cocotb's clock, so cycles cost time


def one_spike_fires(net):
    """`net` with its dense layers' thresholds at 1: one input spike fires them, so a stray
    spike token that a reset left in flight reaches the accumulators even in a silent image
    (with a trained threshold it would rarely change the result)."""
    model, weights = net.model, dict(net.weights)
    for L in model["layers"]:
        if L["kind"] == "dense":
            L["threshold"] = 1
    IR.annotate_widths(model, weights)
    return Network(model, weights)


@pytest.fixture(scope="module")
def net_project(projects, design):
    net = (Network.load(exported_run()) if EXPORTED
           else one_spike_fires(random_network(NET, seed=31, timesteps=4)))
    return net, network_project(projects, design, net)


def write_expected(path, net, frames, **extra):
    read = [frame_image(f, net.n_inputs) for f in frames]
    images = np.stack([img for img, _ in read]).reshape(-1, *net.in_shape)
    acc, pred = golden.predict(net, images)
    cls = pred.astype(np.int64) | np.array([FRAME_ERROR if e else 0 for _, e in read])
    words = np.concatenate([cls[:, None], acc & 0xFFFFFFFF], axis=1)
    arr = np.empty(len(frames), dtype=object)
    arr[:] = [np.asarray(f, np.uint8) for f in frames]
    np.savez(path, frames=arr, words=words, **extra)


def images(net, n, seed=1):  # seed 0 would repeat sample_images' noise image
    rng = np.random.default_rng(seed)
    imgs = np.concatenate([sample_images(net.in_shape),
                           rng.integers(0, 256, (n, *net.in_shape), dtype=np.uint8)])
    return list(imgs.reshape(len(imgs), -1))


# reset lengths of the reset test, in one simulation: a long reset, and a one-cycle pulse
# (clears only the registers that are reset: no token in flight may survive it)
RESET_CYCLES = (5, 1)


@pytest.mark.parametrize("case", ["back_to_back_with_gaps_and_backpressure",
                                  "reset_mid_frame_and_mid_image"])
def test_axis_protocol(net_project, tmp_path, case):
    net, prj = net_project
    write_expected(tmp_path / "expect.npz", net, images(net, 3), reset_cycles=RESET_CYCLES)
    ran = prj.run_cocotb("cocotb_axis", testcase=case,
                         extra_env={"HIRE_SNN_EXPECT": str(tmp_path / "expect.npz")})
    assert ran == [f"cocotb_axis.{case}"]


def test_axis_tlast_early_and_late(net_project, tmp_path):
    net, prj = net_project
    f = images(net, 2)
    frames = [f[0], f[1][:200], f[2], np.concatenate([f[3], f[4][:30]]), f[4], f[5][:1], f[5]]
    write_expected(tmp_path / "expect.npz", net, frames)
    ran = prj.run_cocotb("cocotb_axis", testcase="tlast_early_and_late",
                         extra_env={"HIRE_SNN_EXPECT": str(tmp_path / "expect.npz")})
    assert ran == ["cocotb_axis.tlast_early_and_late"]
