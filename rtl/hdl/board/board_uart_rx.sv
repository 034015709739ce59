// board_uart_rx: 8N1 UART receiver (LSB first, one stop bit), for the board bridge.
//
// The pin goes through a 2-flop synchroniser first (it is asynchronous to clk). A falling
// edge starts a frame; the start bit is checked at its middle (DIV / 2 cycles after the edge
// was seen: a glitch shorter than half a bit is ignored), then the 8 data bits and the stop
// bit are sampled at their middles, every DIV cycles. The receiver is free again right after
// the stop bit's middle, so the next start edge may come up to half a bit early (a sender up
// to about 5 % faster or slower than DIV still decodes).
// Out: `valid` pulses for one cycle with the byte in `data`; `frame_err` pulses with it when
// the stop bit was low (a garbled byte or a break).
module board_uart_rx #(
    parameter int DIV = 33              // clock cycles per bit: round(CLK_HZ / BAUD)
) (
    input  logic       clk,
    input  logic       rst_n,
    input  logic       rx,              // the pin (idle high), asynchronous
    output logic [7:0] data,
    output logic       valid,
    output logic       frame_err,
    output logic       busy             // inside a frame (start bit seen)
);
    localparam int CW = $clog2(DIV);

    initial begin
        if (DIV < 4)
            $fatal(1, "board_uart_rx: DIV (clock cycles per bit) must be >= 4, got %0d", DIV);
    end

    logic rx_meta, rx_sync;             // the synchroniser
    logic [CW-1:0] cnt;                 // cycles to the next sample point
    logic [3:0] bitn;                   // sample to take: 0 start, 1..8 data, 9 stop
    logic [7:0] shift;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            rx_meta <= 1'b1;
            rx_sync <= 1'b1;
            busy <= 1'b0;
            cnt <= '0;
            bitn <= 4'd0;
            valid <= 1'b0;
            frame_err <= 1'b0;
        end else begin
            rx_meta <= rx;
            rx_sync <= rx_meta;
            valid <= 1'b0;
            frame_err <= 1'b0;
            if (!busy) begin
                if (!rx_sync) begin                 // start edge: wait to the start bit's middle
                    busy <= 1'b1;
                    cnt <= CW'(DIV / 2 - 1);
                    bitn <= 4'd0;
                end
            end else if (cnt != '0) begin
                cnt <= cnt - CW'(1);
            end else begin
                cnt <= CW'(DIV - 1);
                if (bitn == 4'd0) begin
                    if (rx_sync)
                        busy <= 1'b0;               // a glitch, not a start bit
                    else
                        bitn <= 4'd1;
                end else if (bitn != 4'd9) begin
                    shift <= {rx_sync, shift[7:1]};
                    bitn <= bitn + 4'd1;
                end else begin                      // the stop bit's middle
                    busy <= 1'b0;
                    valid <= 1'b1;
                    frame_err <= !rx_sync;
                end
            end
        end
    end

    assign data = shift;
endmodule
