"""The area of a Design on one FPGA family, before any synthesis: what the folding minimises.

Logic per kernel kind follows the bits its parallelism replicates (Kernel.datapath_bits: units
x the widest register), interpolated between points measured by Yosys synthesis of real
projects at several foldings (`python -m rtl.calibrate`, which writes core/hw/area_<family>.json
with the interpolation's leave-one-out error); a FIFO's is linear in its word width. Block RAM is counted from each
memory's geometry (the cheapest block configuration that holds it; small memories go to LUT
RAM as Yosys maps them), multipliers from the kernels (only the first layer has any). A memory a
kernel puts in LUT RAM (Memory.lutram) takes no block but the family's distributed-RAM cells
(`lutram`: words x bits of one cell and the logic sites it occupies).

Cost: the design's share of the device, summed over logic (LUT4 + 2 per CCU2C: nextpnr's
TRELLIS_COMB sites), block RAM and multipliers, so that one resource is not traded blindly
for another.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from core.errors import GeneratorError
from core.hw.design import Design
from core.hw.kernels import kernel

HERE = Path(__file__).resolve().parent
RESOURCES = ("LUT", "FF", "BRAM", "MULT")


def area_file(family: str) -> Path:
    return HERE / f"area_{family}.json"


@dataclass
class AreaModel:
    family: str
    device: dict            # {"name", "LUT", "FF", "BRAM", "MULT"}: the part's capacity
    kernels: dict           # kind -> {"LUT": [[bits, cells], ...], "FF": [...]}: measured
    fifo: dict              # {"LUT": [a, b], "FF": [a, b]}: a + b * word bits, per FIFO
    bram_bits: int          # bits of one block
    bram_modes: list        # [[depth, width], ...] the block's configurations
    lutram_max_bits: int    # memories up to this size are LUT RAM (no block)
    source: dict            # how the coefficients were measured
    lutram: dict | None = None   # {"words", "width", "LUT"}: one distributed-RAM cell

    @classmethod
    def load(cls, family: str = "ecp5") -> "AreaModel":
        f = area_file(family)
        if not f.is_file():
            raise GeneratorError(f"no area model for family {family!r} ({f}); calibrate one "
                                 "with `python -m rtl.calibrate RUN --family " + family + "`")
        d = json.loads(f.read_text())
        return cls(family=d["family"], device=d["device"], kernels=d["kernels"], fifo=d["fifo"],
                   bram_bits=d["bram_bits"], bram_modes=d["bram_modes"],
                   lutram_max_bits=d["lutram_max_bits"], source=d.get("source", {}),
                   lutram=d.get("lutram"))

    @staticmethod
    def interpolate(points: list, x: float) -> float:
        """Cells at datapath bits x: linear between the measured points, proportional below the
        smallest (no logic without bits), along the last segment above the largest."""
        xs = [p[0] for p in points]
        if x <= xs[0] or len(points) == 1:
            return points[0][1] * x / xs[0]
        i = next((i for i in range(1, len(xs)) if x <= xs[i]), len(xs) - 1)
        (x0, y0), (x1, y1) = points[i - 1], points[i]
        return max(0.0, y0 + (y1 - y0) * (x - x0) / (x1 - x0))

    def blocks(self, words: int, width: int) -> int:
        """Block RAMs of a words x width memory (0: LUT RAM)."""
        if words * width <= self.lutram_max_bits:
            return 0
        return min(math.ceil(width / w) * math.ceil(words / d) for d, w in self.bram_modes)

    def lutram_logic(self, words: int, width: int) -> float:
        """Logic sites of a words x width memory built from the family's LUT-RAM cells."""
        c = self.lutram
        if c is None:
            raise GeneratorError(f"the {self.family} area model has no LUT RAM cell; recalibrate "
                                 "(python -m rtl.calibrate)")
        return math.ceil(words / c["words"]) * math.ceil(width / c["width"]) * c["LUT"]

    def process(self, p) -> dict:
        k = kernel(p.kernel)
        coef = self.kernels.get(p.kernel)
        if coef is None:
            raise GeneratorError(f"the {self.family} area model has no coefficients for kernel "
                                 f"{p.kernel!r}; recalibrate (python -m rtl.calibrate)")
        x = k.datapath_bits(p)
        lut = self.interpolate(coef["LUT"], x) + sum(self.lutram_logic(m.words, m.width)
                                                     for m in p.memories if m.lutram)
        return {"LUT": lut, "FF": self.interpolate(coef["FF"], x),
                "BRAM": sum(self.blocks(m.words, m.width) for m in p.memories if not m.lutram),
                "MULT": k.multipliers(p)}

    def stream(self, s) -> dict:
        return {"LUT": self.fifo["LUT"][0] + self.fifo["LUT"][1] * s.word_bits,
                "FF": self.fifo["FF"][0] + self.fifo["FF"][1] * s.word_bits,
                "BRAM": self.blocks(s.depth, s.word_bits), "MULT": 0}

    def estimate(self, design: Design) -> dict:
        """{"layers": {layer: resources}, "total": resources, "share": of the device,
        "cost": the summed share}."""
        layers: dict = {}
        parts = [(p.layer.name, self.process(p)) for p in design.processes]
        parts += [(s.layer, self.stream(s)) for s in design.streams]
        for name, r in parts:
            acc = layers.setdefault(name, dict.fromkeys(RESOURCES, 0.0))
            for key in RESOURCES:
                acc[key] += r[key]
        total = {key: sum(v[key] for v in layers.values()) for key in RESOURCES}
        share = {key: total[key] / self.device[key] for key in RESOURCES}
        return {"layers": {k: {key: round(v, 1) for key, v in r.items()} for k, r in layers.items()},
                "total": {key: round(v, 1) for key, v in total.items()},
                "share": {key: round(v, 4) for key, v in share.items()},
                "cost": round(share["LUT"] + share["BRAM"] + share["MULT"], 5)}
