"""python -m rtl.board RUN --port PORT ...: the host runtime (rtl/board/runtime.py)."""
from core.errors import run_cli
from rtl.board.runtime import main

if __name__ == "__main__":
    run_cli(main)
