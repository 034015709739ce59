// board_uart_tx: 8N1 UART transmitter (LSB first, one stop bit), for the board bridge.
//
// A byte is taken when valid && ready; the line then carries the start bit, 8 data bits and
// the stop bit, DIV cycles each. `ready` is high while idle and again in the last cycle of the
// stop bit, so bytes offered back to back leave exactly 10 * DIV cycles apart.
module board_uart_tx #(
    parameter int DIV = 33              // clock cycles per bit: round(CLK_HZ / BAUD)
) (
    input  logic       clk,
    input  logic       rst_n,
    input  logic [7:0] data,
    input  logic       valid,
    output logic       ready,
    output logic       tx,              // the pin (idle high)
    output logic       busy             // a frame is on the line
);
    localparam int CW = $clog2(DIV);

    initial begin
        if (DIV < 4)
            $fatal(1, "board_uart_tx: DIV (clock cycles per bit) must be >= 4, got %0d", DIV);
    end

    logic [CW-1:0] cnt;                 // cycles left in the current bit, minus one
    logic [3:0] bitn;                   // bits sent after the start bit (9 = in the stop bit)
    logic [7:0] shift;

    wire bit_end = (cnt == '0);
    assign ready = !busy || (bit_end && bitn == 4'd9);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            tx <= 1'b1;
            busy <= 1'b0;
            cnt <= '0;
            bitn <= 4'd0;
        end else if (valid && ready) begin          // start bit
            tx <= 1'b0;
            busy <= 1'b1;
            shift <= data;
            cnt <= CW'(DIV - 1);
            bitn <= 4'd0;
        end else if (busy) begin
            if (!bit_end) begin
                cnt <= cnt - CW'(1);
            end else if (bitn == 4'd9) begin        // the stop bit is over
                busy <= 1'b0;
            end else begin                          // data bits 0..7, then the stop bit
                tx <= (bitn == 4'd8) ? 1'b1 : shift[0];
                shift <= {1'b1, shift[7:1]};
                cnt <= CW'(DIV - 1);
                bitn <= bitn + 4'd1;
            end
        end
    end
endmodule
