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
// A word written in cycle c can be read from cycle c + 4 (RAM write, registered read, the RAM
// word registered again, output buffer: no block-RAM output drives the buffer's muxes, a path
// that can span the die); the RAM holds DEPTH words and the output buffer four more. The RAM
// reads every cycle and a read is issued (the read pointer advances) while the buffer and the
// reads in flight hold at most three words; the buffer is a ring (a word is written at head +
// count and read at head): neither the RAM's enables and address nor the buffer's register
// enables wait for the consumer's ready, which only advances the 2-bit head.
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
    logic rd1, rd2;                // a RAM read issued one / two cycles ago
    logic [W-1:0] ram_q, ram_q2;
    logic [W-1:0] buffer [4];      // output buffer: a ring of four words from buffer[head]
    logic [1:0] head;
    logic [2:0] buf_count;

    wire pop = out_valid && out_ready;
    // issue a read when the buffer has room for it whatever the consumer does this cycle
    wire [2:0] occupied = buf_count + {2'b0, rd1} + {2'b0, rd2};
    wire issue = (ram_count != '0) && (occupied <= 3'd3);
    // free words after the previous cycle's write, not counting its read (conservative)
    wire [CW:0] used_next = {1'b0, ram_count} + (CW + 1)'(in_valid);

    assign out_valid = (buf_count != 3'd0);
    assign out_data = buffer[head];

    always_ff @(posedge clk) begin
        if (in_valid)
            mem[wptr] <= in_data;
        ram_q <= mem[rptr];        // used when a read was issued (rd1)
        ram_q2 <= ram_q;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wptr <= '0;
            rptr <= '0;
            ram_count <= '0;
            in_room <= 1'b1;
            rd1 <= 1'b0;
            rd2 <= 1'b0;
            buf_count <= 3'd0;
            head <= 2'd0;
        end else begin
            if (in_valid)
                wptr <= (wptr == AW'(DEPTH - 1)) ? '0 : wptr + AW'(1);
            if (issue)
                rptr <= (rptr == AW'(DEPTH - 1)) ? '0 : rptr + AW'(1);
            ram_count <= ram_count + CW'(in_valid) - CW'(issue);
            in_room <= (CW + 1)'(DEPTH) - used_next >= (CW + 1)'(SLACK);
            rd1 <= issue;
            rd2 <= rd1;
            buf_count <= buf_count - 3'(pop) + 3'(rd2);
            head <= head + 2'(pop);
`ifndef SYNTHESIS
            if (in_valid && ram_count == CW'(DEPTH) && !issue)
                $error("snn_fifo: write into a full FIFO (a producer ignored in_room)");
`endif
        end
    end

    // output buffer: shift on pop, append the arriving RAM word behind the words kept
    // the arriving word goes behind the words kept: slot head + count (a pop moves both ends)
    wire [1:0] tail = head + buf_count[1:0];
    always_ff @(posedge clk) begin
        if (rd2)
            buffer[tail] <= ram_q2;
    end
endmodule
