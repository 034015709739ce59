"""The network on a board: the ULX3S top and its UART framing (rtl/hdl/board), the board project
(project), the PLL from ecppll (pll), the bitstream command (bitstream: python -m
rtl.board.bitstream, `make bitstream`), the host runtime (runtime: python -m rtl.board) and
its transports, a serial port or the simulated board (transport, sim). See docs/BOARD.md."""
