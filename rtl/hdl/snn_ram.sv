// snn_ram: a read-write memory of DEPTH words of W bits with one write port and one registered
// read port (a read in the cycle of a write to the same word returns the old word), mapped to
// block RAM, or with LUTRAM = 1 to distributed (LUT) RAM: a shallow, wide memory (a conv's
// membrane bank: tens of words of LANES membranes) fills a block RAM by a fraction of its
// depth, LUT RAM by its bits (core/hw/kernels/event.py chooses).
module snn_ram #(
    parameter int W = 8,
    parameter int DEPTH = 16,
    parameter int AW = 4,            // address bits, >= $clog2(DEPTH)
    parameter int LUTRAM = 0
) (
    input  logic          clk,
    input  logic          we,
    input  logic [AW-1:0] waddr,
    input  logic [W-1:0]  wdata,
    input  logic [AW-1:0] raddr,
    output logic [W-1:0]  rdata
);
    initial begin
        if (DEPTH < 1 || W < 1 || (DEPTH > 1 && AW < $clog2(DEPTH)))
            $fatal(1, "snn_ram: inconsistent parameters");
    end

    if (LUTRAM != 0) begin : g_lut
        (* ram_style = "distributed" *) logic [W-1:0] mem [DEPTH];
        always_ff @(posedge clk) begin
            if (we)
                mem[waddr] <= wdata;
            rdata <= mem[raddr];
        end
    end else begin : g_block
        logic [W-1:0] mem [DEPTH];
        always_ff @(posedge clk) begin
            if (we)
                mem[waddr] <= wdata;
            rdata <= mem[raddr];
        end
    end
endmodule
