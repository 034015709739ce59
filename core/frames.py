"""The hardware's AXI4-Stream framing, and stimuli every backend's test bench shares.

Input: one frame per image, C*H*W beats of one 8-bit pixel code each, C-order, TLAST on the last
beat. A malformed frame still gives one result, computed on a well-defined image:
- TLAST early (after k < C*H*W beats): the k codes received, the rest zero;
- TLAST missing on beat C*H*W: the first C*H*W codes; the beats after them, up to and
  including the next TLAST, are dropped;
and the result's class word carries FRAME_ERROR (bit 31), so the next image is unaffected.
Output: classes + 1 32-bit words per image: the class word, then the readout accumulators
(two's complement); TLAST on the last.
"""
from __future__ import annotations

import numpy as np

FRAME_ERROR = 1 << 31


def frame_image(frame: np.ndarray, n_inputs: int) -> tuple[np.ndarray, bool]:
    """(the image a frame of codes stands for, malformed?) under the rules above."""
    frame = np.asarray(frame, np.uint8).reshape(-1)
    if len(frame) == n_inputs:
        return frame.copy(), False
    img = np.zeros(n_inputs, np.uint8)
    k = min(len(frame), n_inputs)
    img[:k] = frame[:k]
    return img, True


def result_words(acc, pred: int, error: bool, signed_class: bool = False) -> list[int]:
    """The classes + 1 output words of one image as unsigned 32-bit integers (or, with
    signed_class, the class word as the test bench prints it: class | error bit)."""
    cls = int(pred) | (FRAME_ERROR if error else 0)
    return [cls] + [int(a) & 0xFFFFFFFF if not signed_class else int(a) for a in acc]


def sample_images(in_shape) -> np.ndarray:
    """Deterministic test-bench images: all 0, all 255, a ramp and seeded noise."""
    n = int(np.prod(in_shape))
    ramp = (np.arange(n) * 255 // max(1, n - 1)).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8)
    return np.stack([np.zeros(n, np.uint8), np.full(n, 255, np.uint8), ramp, noise]).reshape(
        4, *in_shape)


def codes_text(frames) -> str:
    """The test benches' input format: one frame per line, its codes separated by spaces."""
    return "".join(" ".join(map(str, np.asarray(f, np.uint8).reshape(-1).tolist())) + "\n"
                   for f in frames)
