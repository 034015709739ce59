"""One error family and one exit-code convention for every command of the flow.

Every problem a user can fix (missing or corrupt input, a bad flag, a network the hardware cannot
hold, a tool that is not installed) raises a FlowError subclass whose message names the file,
field or setting and, where there is one, the command that fixes it. Every CLI's main is
decorated with `cli`, so all of them print `error: <message>` on stderr and exit with the same codes:

    0  success (and, for comparisons, bit-exact)
    1  the command ran but found a mismatch (a comparison that is not bit-exact)
    2  a FlowError: nothing was compared, nothing half-written is left behind
"""
from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_ERROR = 2


class FlowError(Exception):
    """Base of every user-fixable error; its message is printed as is."""


class IRError(FlowError, ValueError):
    """An IR (model.json + weights.npz) that is missing, unreadable or inconsistent."""


class GeneratorError(FlowError, ValueError):
    """A network or setting a hardware backend cannot map; raised before any file is written."""


class RunError(FlowError):
    """A run folder, its test vectors or a key in them that is missing or corrupt."""


class ToolError(FlowError):
    """An external tool (g++, Verilator, Yosys) is missing or failed."""


def cli_main(main, argv=None) -> int:
    """Run `main(argv)` (returning an exit status) under the convention above."""
    try:
        return int(main(argv) or 0)
    except FlowError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def cli(main):
    """Decorate a CLI's `main(argv)`: FlowErrors become `error: ...` on stderr and status 2."""
    def wrapper(argv=None) -> int:
        return cli_main(main, argv)
    wrapper.__doc__, wrapper.__name__ = main.__doc__, main.__name__
    return wrapper


def run_cli(main) -> None:
    """`if __name__ == "__main__": run_cli(main)`: exit with the (decorated) main's status."""
    sys.exit(main())
