"""What every hardware backend does the same way around its own writer: map an IR onto the
design, write a project folder atomically, reuse a folder that already holds this IR built
with these settings, and the `python -m <backend>.generate` command line."""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from core.atomic import atomic_dir
from core.hw import config as hw_config
from core.hw import folding
from core.hw.mapping import as_network, design_of
from core.runs import DEFAULT_RUN, load_network, load_vectors


def write_files(files: dict, out_dir) -> Path:
    """{relative path: text} -> out_dir, replacing it whole only when every file is written."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        for rel, text in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
    return out_dir


def generate(write, net, out, config=None, overrides: dict | None = None, weights=None,
             codes=None) -> Path:
    """Map a Network (or model.json dict + weights) onto the design, then `write(design, out)`.
    `codes`: the images a folding target's cycle model runs on (core.hw.folding)."""
    return write(design_of(as_network(net, weights), config, overrides, codes=codes), out)


def fold_codes(src, net, config=None, overrides: dict | None = None):
    """The clean test images a folding target is met on: the first settings.fold_images of
    the run folder's vectors.npz; None (random spike maps) for an IR folder or no target."""
    settings = hw_config.load(config, overrides)
    if not folding.targets(settings) or not (Path(src) / "vectors.npz").is_file():
        return None
    codes, _ = load_vectors(src, n=None, in_shape=net.in_shape)
    return codes[:settings["fold_images"]]


CORE = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = {".py", ".sv", ".v", ".j2", ".h", ".hpp", ".cpp", ".tcl", ".vlt"}


def generator_fingerprint(package) -> str:
    """sha256 of every source that shapes a backend's project: the backend package (its writer,
    templates, kernel library) and the neutral core (IR, golden model, core.hw). A project
    records it, so a code change (a `git pull`) regenerates the project instead of simulating a
    stale copy."""
    h = hashlib.sha256()
    for root in (Path(package).resolve(), CORE):
        for f in sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES
                        and p.is_file() and "__pycache__" not in p.parts):
            h.update(f"{root.name}/{f.relative_to(root)}\0".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def fingerprint_of(write) -> str:
    """The generator fingerprint of the backend whose writer function is `write`."""
    return generator_fingerprint(Path(sys.modules[write.__module__].__file__).parent)


def is_current(out: Path, net, design, settings_file: str, fingerprint: str | None = None) -> bool:
    """True when `out` is a whole-network project of this IR built with these settings (and,
    given a fingerprint, by this generator code)."""
    mf, cfg = Path(out) / "project.json", Path(out) / settings_file
    if not (mf.is_file() and cfg.is_file()):
        return False
    try:
        manifest = json.loads(mf.read_text())
        settings = json.loads(cfg.read_text())
    except json.JSONDecodeError:
        return False
    return (manifest.get("ir_sha256") == net.sha256 and "process" not in manifest
            and settings == json.loads(json.dumps(design.settings))
            and (fingerprint is None or manifest.get("generator_sha256") == fingerprint))


def project_for(write, net, out, settings_file: str, config=None, codes=None,
                overrides: dict | None = None):
    """(design, out): the design of `net`, and `out` rewritten unless it is already current.
    `codes`: the images a folding target is met on (fold_codes)."""
    design = design_of(net, config, overrides, codes=codes)
    if not is_current(out, net, design, settings_file, fingerprint_of(write)):
        write(design, out)
    return design, Path(out)


def add_fold_arguments(ap: argparse.ArgumentParser) -> None:
    """The folding flags of every command that generates a project (core.hw.folding)."""
    ap.add_argument("--target-us", type=float, metavar="US",
                    help="fold to this latency per image: the lanes per layer and the first "
                         "conv layer's taps per cycle (1, K or K*K) of least area "
                         "(calibrated model) whose cycle model, on the run's own spike traces, "
                         "meets it at settings.clock_mhz (set that, or --mhz, to the Fmax `make "
                         "pnr` measured); sets settings.target_latency_us")
    ap.add_argument("--target-interval-us", type=float, metavar="US",
                    help="fold to this interval between streamed images (settings."
                         "target_interval_us); with --target-us both must hold")
    ap.add_argument("--mhz", type=float, help="the clock the targets are met at (settings."
                                              "clock_mhz)")


def fold_overrides(ap: argparse.ArgumentParser, a) -> dict:
    """The settings the folding flags set (checked: each > 0)."""
    for flag, v in (("--target-us", a.target_us), ("--target-interval-us", a.target_interval_us),
                    ("--mhz", a.mhz)):
        if v is not None and not v > 0:
            ap.error(f"{flag} must be > 0, got {v:g}")
    return {k: v for k, v in (("target_latency_us", a.target_us),
                              ("target_interval_us", a.target_interval_us),
                              ("clock_mhz", a.mhz)) if v is not None}


def generate_main(argv, prog: str, doc: str, default_out: Path, write, summary) -> int:
    """`python -m <backend>.generate [RUN_OR_IR_DIR] [--out DIR] [--config JSON]`."""
    ap = argparse.ArgumentParser(prog=prog, description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", nargs="?", default=str(DEFAULT_RUN),
                    help=f"run folder (with ir/) or IR folder (default {DEFAULT_RUN})")
    ap.add_argument("--out", default=str(default_out),
                    help=f"project folder to write (default {default_out})")
    ap.add_argument("--config", help="settings JSON (lanes per layer, fifo_depth, clock_mhz, "
                                     "spike_rate, ...; one schema for both backends, "
                                     "docs/ARCHITECTURE.md)")
    add_fold_arguments(ap)
    a = ap.parse_args(argv)
    overrides = fold_overrides(ap, a)
    net = load_network(a.src)
    out = generate(write, net, a.out, a.config, overrides,
                   codes=fold_codes(a.src, net, a.config, overrides))
    fold = Path(out) / "folding.json"
    if fold.is_file():
        f = json.loads(fold.read_text())
        print(folding.describe(f))
    lat = json.loads((Path(out) / "latency.json").read_text())
    print(f"wrote {out} ({summary}: {lat['latency_us']} us per image, one image every "
          f"{lat['interval_between_images']:g} cycles at {lat['clock_mhz']:g} MHz and a "
          f"{lat['assumptions']['spike_rate']:g} spike rate)")
    meta = json.loads((Path(out) / "project.json").read_text())
    print(json.dumps({"project": str(out), "ir_sha256": meta.get("ir_sha256"),
                      "generator_sha256": meta.get("generator_sha256"),
                      "latency_us": lat["latency_us"],
                      "interval_between_images": lat["interval_between_images"],
                      "clock_mhz": lat["clock_mhz"],
                      "spike_rate": lat["assumptions"]["spike_rate"]}, sort_keys=True))
    return 0
