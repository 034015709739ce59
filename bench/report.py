"""What every benchmark records beside its figures: the host, and an atomically written JSON."""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from core.atomic import atomic_file


def host_info(**extra) -> dict:
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "machine": platform.machine(), "loadavg_1m": load, **extra}


def write_result(result: dict, path) -> Path:
    out = Path(path)
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")
    return out
