// snn_fifo: a first-word-fall-through FIFO on a RAM with registered reads (block or distributed
// RAM in synthesis), the stream buffer between two dataflow processes.
//
// Write side: the producer writes with in_valid whenever it issued that write while in_room
// was high; in_room means at least SLACK free words (counting writes one cycle after they
// happen), so a producer that writes P cycles after it issues never overflows with
// SLACK = P + 1. in_room is a register (timing: the producer's issue logic, and through it the
// read side of its own input FIFO, does not wait for this FIFO's count compare): it counts the
// previous cycle's write but not its read, so it may say "no room" one cycle longer than
// needed, never "room" too early.
// Read side: valid/ready; out_data is held while out_valid && !out_ready.
// A word written in cycle c can be read from cycle c + 3 (RAM write, registered read, output
// buffer); the RAM holds DEPTH words and the output buffer two more.
module snn_fifo #(
    parameter int W = 8,
    parameter int DEPTH = 16,
    parameter int SLACK = 1
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic [W-1:0] in_data,
    input  logic         in_valid,
    output logic         in_room,
    output logic [W-1:0] out_data,
    output logic         out_valid,
    input  logic         out_ready
);
    localparam int AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam int CW = $clog2(DEPTH + 1);

    initial begin
        if (DEPTH < 2 || SLACK < 1 || SLACK > DEPTH || W < 1)
            $fatal(1, "snn_fifo: need DEPTH >= 2, 1 <= SLACK <= DEPTH, W >= 1");
    end

    logic [W-1:0] mem [DEPTH];
    logic [AW-1:0] wptr, rptr;
    logic [CW-1:0] ram_count;      // words in the RAM not yet read out
    logic rd_pending;              // a RAM read issued in the previous cycle
    logic [W-1:0] ram_q;
    logic [W-1:0] buf0, buf1;      // output buffer: buf0 is the head
    logic [1:0] buf_count;

    wire pop = out_valid && out_ready;
    // read the RAM when the output buffer will have room for the word one cycle later
    wire [2:0] buf_after = {1'b0, buf_count} - {2'b0, pop} + {2'b0, rd_pending};
    wire issue = (ram_count != '0) && (buf_after <= 3'd1);

    // free words after the previous cycle's write, not counting its read (conservative)
    wire [CW:0] used_next = {1'b0, ram_count} + (CW + 1)'(in_valid);
    assign out_valid = (buf_count != 2'd0);
    assign out_data = buf0;

    always_ff @(posedge clk) begin
        if (in_valid)
            mem[wptr] <= in_data;
        if (issue)
            ram_q <= mem[rptr];
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wptr <= '0;
            rptr <= '0;
            ram_count <= '0;
            in_room <= 1'b1;
            rd_pending <= 1'b0;
            buf_count <= 2'd0;
        end else begin
            if (in_valid)
                wptr <= (wptr == AW'(DEPTH - 1)) ? '0 : wptr + AW'(1);
            if (issue)
                rptr <= (rptr == AW'(DEPTH - 1)) ? '0 : rptr + AW'(1);
            ram_count <= ram_count + CW'(in_valid) - CW'(issue);
            in_room <= (CW + 1)'(DEPTH) - used_next >= (CW + 1)'(SLACK);
            rd_pending <= issue;
            buf_count <= buf_after[1:0];
`ifndef SYNTHESIS
            if (in_valid && ram_count == CW'(DEPTH) && !issue)
                $error("snn_fifo: write into a full FIFO (a producer ignored in_room)");
`endif
        end
    end

    // output buffer: shift on pop, append the arriving RAM word
    always_ff @(posedge clk) begin
        case ({pop, rd_pending})
            2'b10: buf0 <= buf1;
            2'b01: if (buf_count == 2'd0) buf0 <= ram_q; else buf1 <= ram_q;
            2'b11: if (buf_count == 2'd1) buf0 <= ram_q; else begin buf0 <= buf1; buf1 <= ram_q; end
            default: ;
        endcase
    end
endmodule
