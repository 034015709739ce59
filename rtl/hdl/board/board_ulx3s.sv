// board_ulx3s: the network on a ULX3S (ECP5 LFE5U-12F..85F, 25 MHz oscillator, FT231X USB-UART).
//
// clk_25mhz -> board_pll (EHXPLLL from `ecppll`, written into the project at bitstream time;
// a pass-through stub in simulation) -> the design clock of CLK_HZ, which must be the PLL's
// real output frequency. Reset: held while the PLL is unlocked or the PWR button (active low)
// is pressed, released 16 cycles after both are clear (synchronised to the design clock).
// The FTDI UART at BAUD (8N1; 3 Mbaud is the FT231X's fastest) is bridged to the network's
// AXI4-Stream ports by board_bridge (framing in its header and docs/BOARD.md); the bit time
// is DIV = round(CLK_HZ / BAUD) cycles, and elaboration stops when that is more than 2 % off.
// LEDs: 0 busy (a request, a frame or a reply in flight), 1 error (latched until reset: a bad
// or dropped request, a stop-bit error, noise), 2 PLL locked, 3 heartbeat, 7..4 replies sent
// (mod 16). wifi_gpio0 is driven high so that the ESP32 does not reset the board.
module board_ulx3s #(
    parameter int CLK_HZ = 100_000_000,
    parameter int BAUD = 3_000_000,
    parameter int N_INPUTS = 784,
    parameter int CLASSES = 10,
    parameter int TIMEOUT_US = 10_000     // inter-byte timeout inside a request
) (
    input  logic       clk_25mhz,
    input  logic       ftdi_txd,          // FT231X TXD: into the FPGA
    output logic       ftdi_rxd,          // FT231X RXD: out of the FPGA
    input  logic       btn_pwr_n,         // PWR button, low when pressed
    output logic [7:0] led,
    output logic       wifi_gpio0
);
    localparam int DIV = (CLK_HZ + BAUD / 2) / BAUD;
    localparam longint BAUD_ERR = longint'(CLK_HZ) - longint'(DIV) * longint'(BAUD);
    localparam longint TIMEOUT_CYCLES = longint'(CLK_HZ) / 1_000_000 * longint'(TIMEOUT_US);
    localparam int HB = $clog2(CLK_HZ) - 1;     // heartbeat: about 1 Hz

    initial begin
        if (DIV < 4)
            $fatal(1, "board_ulx3s: CLK_HZ %0d / BAUD %0d gives %0d cycles per bit (need >= 4)",
                   CLK_HZ, BAUD, DIV);
        // |CLK_HZ / DIV - BAUD| < 2 % of BAUD  <=>  |CLK_HZ - DIV * BAUD| * 50 < DIV * BAUD
        if ((BAUD_ERR < 0 ? -BAUD_ERR : BAUD_ERR) * 50 >= longint'(DIV) * longint'(BAUD))
            $fatal(1, "board_ulx3s: CLK_HZ %0d / %0d cycles per bit is more than 2 %% off %0d baud",
                   CLK_HZ, DIV, BAUD);
        if (TIMEOUT_CYCLES < 20 * longint'(DIV) || TIMEOUT_CYCLES > 64'h7fff_ffff)
            $fatal(1, "board_ulx3s: TIMEOUT_US %0d must span 2 bytes and fit 31 bits of cycles",
                   TIMEOUT_US);
    end

    logic clk, locked;
    board_pll u_pll (.clkin(clk_25mhz), .clkout0(clk), .locked(locked));

    // ---- reset --------------------------------------------------------------------------------
    logic hold_meta, hold_sync;
    logic [4:0] por;
    logic rst_n;
    initial begin                       // power-up values (the FPGA's configuration sets them)
        hold_meta = 1'b1;
        hold_sync = 1'b1;
        por = 5'd0;
    end
    always_ff @(posedge clk) begin
        hold_meta <= !locked || !btn_pwr_n;
        hold_sync <= hold_meta;
        if (hold_sync)
            por <= 5'd0;
        else if (!por[4])
            por <= por + 5'd1;
    end
    assign rst_n = por[4];

    // ---- UART and bridge ----------------------------------------------------------------------
    logic [7:0] rx_data, tx_data;
    logic rx_valid, rx_ferr, rx_busy, tx_valid, tx_ready, tx_busy;
    logic [7:0] s_tdata;
    logic s_tvalid, s_tready, s_tlast;
    logic [31:0] m_tdata;
    logic m_tvalid, m_tready, m_tlast;
    logic [3:0] unused_m_keep, unused_m_strb;
    logic bridge_busy, bridge_error, replied;

    board_uart_rx #(.DIV(DIV)) u_rx (
        .clk(clk), .rst_n(rst_n), .rx(ftdi_txd), .data(rx_data), .valid(rx_valid),
        .frame_err(rx_ferr), .busy(rx_busy));

    board_uart_tx #(.DIV(DIV)) u_tx (
        .clk(clk), .rst_n(rst_n), .data(tx_data), .valid(tx_valid), .ready(tx_ready),
        .tx(ftdi_rxd), .busy(tx_busy));

    board_bridge #(
        .N_INPUTS(N_INPUTS), .CLASSES(CLASSES), .TIMEOUT_CYCLES(int'(TIMEOUT_CYCLES))
    ) u_bridge (
        .clk(clk), .rst_n(rst_n),
        .rx_data(rx_data), .rx_valid(rx_valid), .rx_ferr(rx_ferr),
        .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
        .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready), .s_tlast(s_tlast),
        .m_tdata(m_tdata), .m_tvalid(m_tvalid), .m_tready(m_tready), .m_tlast(m_tlast),
        .busy(bridge_busy), .error(bridge_error), .replied(replied));

    hire_snn u_net (
        .ap_clk(clk), .ap_rst_n(rst_n),
        .s_axis_TDATA(s_tdata), .s_axis_TVALID(s_tvalid), .s_axis_TREADY(s_tready),
        .s_axis_TLAST(s_tlast), .s_axis_TKEEP(1'b1), .s_axis_TSTRB(1'b1),
        .m_axis_TDATA(m_tdata), .m_axis_TVALID(m_tvalid), .m_axis_TREADY(m_tready),
        .m_axis_TLAST(m_tlast), .m_axis_TKEEP(unused_m_keep), .m_axis_TSTRB(unused_m_strb));

    // ---- LEDs ---------------------------------------------------------------------------------
    logic [HB:0] beat;
    logic [3:0] replies;
    always_ff @(posedge clk) begin
        if (!rst_n) begin
            beat <= '0;
            replies <= 4'd0;
        end else begin
            beat <= beat + 1'b1;
            if (replied)
                replies <= replies + 4'd1;
        end
    end

    assign led = {replies, beat[HB], locked, bridge_error, bridge_busy || rx_busy || tx_busy};
    assign wifi_gpio0 = 1'b1;
endmodule
