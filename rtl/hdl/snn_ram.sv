// snn_ram: a read-write memory of DEPTH words of W bits with one write port and one read port,
// mapped to block RAM, or with LUTRAM = 1 to distributed (LUT) RAM: a shallow, wide memory (a
// conv's membrane bank: tens of words of LANES membranes) fills a block RAM by a fraction of its
// depth, LUT RAM by its bits (core/hw/kernels/event.py chooses).
// The write enable and both addresses come a cycle early and are registered here, once per
// slice of the word (SLICES copies, kept apart, see below): a LUT-RAM bank is hundreds of cells, and one
// register driving all their write-enable and address pins was the design's critical path
// (11 ns of routing at 75 MHz). Timing seen from outside: a write presented with we_next in
// cycle c lands at the end of cycle c + 1, wdata taken in cycle c + 1; a read of raddr_next in
// cycle c gives rdata in cycle c + 2 (registered), the old word if that word is written in
// cycle c + 1.
module snn_ram #(
    parameter int W = 8,
    parameter int DEPTH = 16,
    parameter int AW = 4,            // address bits, >= $clog2(DEPTH)
    parameter int LUTRAM = 0,
    parameter int SLICES = 1         // register copies, each for W / SLICES bits of the word
) (
    input  logic          clk,
    input  logic          we_next,
    input  logic [AW-1:0] waddr_next,
    input  logic [W-1:0]  wdata,
    input  logic [AW-1:0] raddr_next,
    output logic [W-1:0]  rdata
);
    localparam int SW = W / SLICES;

    initial begin
        if (DEPTH < 1 || W < 1 || SLICES < 1 || W % SLICES != 0
            || (DEPTH > 1 && AW < $clog2(DEPTH)))
            $fatal(1, "snn_ram: inconsistent parameters");
    end

    for (genvar s = 0; s < SLICES; s++) begin : g_slice
        logic we;
        logic [AW-1:0] wa, ra;
        // keep on the process: Yosys would otherwise merge the copies (keep on the signals does
        // not stop opt_merge)
        (* keep *) always_ff @(posedge clk) begin
            we <= we_next;
            wa <= waddr_next;
            ra <= raddr_next;
        end
        if (LUTRAM != 0) begin : g_lut
            (* ram_style = "distributed" *) logic [SW-1:0] mem [DEPTH];
            always_ff @(posedge clk) begin
                if (we)
                    mem[wa] <= wdata[s*SW +: SW];
                rdata[s*SW +: SW] <= mem[ra];
            end
        end else begin : g_block
            logic [SW-1:0] mem [DEPTH];
            always_ff @(posedge clk) begin
                if (we)
                    mem[wa] <= wdata[s*SW +: SW];
                rdata[s*SW +: SW] <= mem[ra];
            end
        end
    end
endmodule
