// board_pll (simulation only): the design clock is the input clock, locked after 8 cycles.
// The Verilator harness drives clk_25mhz at the design clock's rate; the real board_pll is
// the EHXPLLL module `ecppll` writes into the project at bitstream time.
module board_pll (
    input  logic clkin,
    output logic clkout0,
    output logic locked
);
    logic [3:0] count;
    initial count = 4'd0;
    always_ff @(posedge clkin) begin
        if (!count[3])
            count <= count + 4'd1;
    end
    assign clkout0 = clkin;
    assign locked = count[3];
endmodule
