`timescale 1ns/1ps
// tb_stream: bulk streaming harness around `dut_top` (token stream in -> token stream out).
//
// Why: a cocotb-driven clock caps a simulation at a few hundred thousand cycles per second
// because Python wakes on every edge. Here the clock, the stimulus and the capture live in the
// simulation; Python (rtl/_cocotb_stream.py) only sets these ports, pulses `start` and sleeps
// until `done`. Nothing needs rebuilding between runs: file paths and counts are run-time values.
//
// One run: on a rising edge of `start`, $readmemh(infile) loads n_in words (hex, one word a line);
// they are offered in order with pseudo-random TVALID gaps when gaps_en (a 32-bit LFSR started
// from `seed`; a valid word is held until accepted, as AXI-Stream requires); n_out words are accepted (with random TREADY back-pressure
// when gaps_en); then, for drain_cycles more cycles, any extra word is accepted and counted only.
// Finally $writememh writes the received words to outfile, the run cycle of every input handshake
// to incycfile and of every output handshake to outcycfile (64-bit hex), and `done` rises.
// A run also ends (timed_out = 1, files written as far as they go) after max_cycles cycles, or
// after max_idle cycles without any handshake (0 disables either limit).
// `reset` (rising edge) holds the DUT's rst_n low for RST_CYCLES cycles and aborts a run; the
// harness also resets the DUT at time 0. A `start` seen during reset waits until it is over.
// The four paths are public variables of this module (infile, outfile, incycfile, outcycfile),
// set from cocotb like the ports.
module tb_stream #(
    parameter int IN_W    = 9,
    parameter int OUT_W   = 33,
    parameter int MAX_IN  = 1 << 20,
    parameter int MAX_OUT = 1 << 17,
    parameter int PATHW   = 8 * 512
) (
    input  logic             start,
    input  logic             reset,
    input  logic [31:0]      n_in,
    input  logic [31:0]      n_out,
    input  logic [31:0]      drain_cycles,
    input  logic [63:0]      max_cycles,
    input  logic [63:0]      max_idle,
    input  logic             gaps_en,
    input  logic [31:0]      seed,
    output logic             done,
    output logic             timed_out,
    output logic [31:0]      words_in,
    output logic [31:0]      words_out,
    output logic [31:0]      words_extra,
    output logic [63:0]      run_cycles,
    output logic [63:0]      cycle
);
  localparam int AIW = $clog2(MAX_IN);
  localparam int AOW = $clog2(MAX_OUT);
  localparam logic [3:0] RST_CYCLES = 4'd8;

  // ---- file paths: packed strings that cocotb writes (the path's bytes right-aligned, zero
  // bytes on the left). Public variables, not ports: Verilator copies every input port on every
  // evaluation, and four 4096-bit ports halved the simulation speed.
  logic [PATHW-1:0] infile     /*verilator public_flat_rw*/;
  logic [PATHW-1:0] outfile    /*verilator public_flat_rw*/;
  logic [PATHW-1:0] incycfile  /*verilator public_flat_rw*/;
  logic [PATHW-1:0] outcycfile /*verilator public_flat_rw*/;

  // ---- clock, free-running cycle counter, DUT reset ------------------------------------------
  logic clk;
  initial clk = 1'b0;
  always #5 clk = ~clk;

  logic [63:0] cyc;
  always_ff @(posedge clk) cyc <= cyc + 64'd1;
  assign cycle = cyc;

  logic [3:0] rst_cnt;
  logic       reset_q;
  logic       rst_n;
  always_ff @(posedge clk) begin
    reset_q <= reset;
    if (reset && !reset_q)     rst_cnt <= RST_CYCLES;
    else if (rst_cnt != 4'd0)  rst_cnt <= rst_cnt - 4'd1;
  end
  assign rst_n = (rst_cnt == 4'd0);

  // ---- DUT ------------------------------------------------------------------------------------
  logic [IN_W-1:0]  in_data;
  logic             in_valid, in_ready;
  logic [OUT_W-1:0] out_data;
  logic             out_valid, out_ready;

  dut_top #(.IN_W(IN_W), .OUT_W(OUT_W)) u_dut (
      .clk(clk), .rst_n(rst_n),
      .in_data(in_data), .in_valid(in_valid), .in_ready(in_ready),
      .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready));

  // ---- storage --------------------------------------------------------------------------------
  logic [IN_W-1:0]  in_mem     [MAX_IN];
  logic [63:0]      in_cyc_mem [MAX_IN];
  logic [OUT_W-1:0] out_mem    [MAX_OUT];
  logic [63:0]      out_cyc_mem[MAX_OUT];

  // ---- pseudo-random gaps: 32-bit Galois LFSR (x^32 + x^22 + x^2 + x + 1), about 25 % each ----
  logic [31:0] lfsr;
  wire gap   = gaps_en && (lfsr[1:0] == 2'b00);
  wire stall = gaps_en && (lfsr[17:16] == 2'b00);

  // ---- run control ----------------------------------------------------------------------------
  typedef enum logic [2:0] {S_IDLE, S_RUN, S_DRAIN, S_WRITE, S_DONE} state_t;
  state_t      state;
  logic        start_q;
  logic        start_pend;
  logic        hold;           // a word was offered and not yet taken: keep TVALID up
  logic [31:0] rd_idx;
  logic [31:0] wr_idx;
  logic [31:0] extra;
  logic [31:0] drain_left;
  logic [63:0] rcyc;
  logic [63:0] idle;
  logic        tmo;

  // power-up state (the DUT itself is reset by rst_n, held low for RST_CYCLES from time 0)
  initial begin
    cyc = '0; rst_cnt = RST_CYCLES; reset_q = 1'b0; lfsr = 32'h1;
    state = S_IDLE; start_q = 1'b0; start_pend = 1'b0; hold = 1'b0; done = 1'b0;
    rd_idx = '0; wr_idx = '0; extra = '0; drain_left = '0; rcyc = '0; idle = '0; tmo = 1'b0;
  end

  wire moving  = (state == S_RUN) || (state == S_DRAIN);
  wire have_in = moving && (rd_idx < n_in);
  assign in_valid  = have_in && (hold || !gap);
  assign in_data   = in_mem[rd_idx[AIW-1:0]];
  assign out_ready = moving && !stall;

  wire in_hs  = in_valid && in_ready;
  wire out_hs = out_valid && out_ready;
  wire last_out = out_hs && (state == S_RUN) && (wr_idx + 32'd1 == n_out);
  wire over = ((max_cycles != 64'd0) && (rcyc + 64'd1 >= max_cycles)) ||
              ((max_idle != 64'd0) && (idle + 64'd1 >= max_idle));

  always_ff @(posedge clk) begin
    start_q <= start;
    if (start && !start_q) start_pend <= 1'b1;

    lfsr <= {1'b0, lfsr[31:1]} ^ (lfsr[0] ? 32'h80200003 : 32'h0);
    hold <= in_valid && !in_ready;

    if (!rst_n) begin
      state <= S_IDLE;
      done  <= 1'b0;
      hold  <= 1'b0;
    end else begin
      unique case (state)
        S_IDLE, S_DONE: if (start_pend) begin
          start_pend <= 1'b0;
          if (n_in != 32'd0) $readmemh(infile, in_mem, 0, n_in - 32'd1);
          lfsr <= ((seed ^ 32'h6A09E667) == 32'd0) ? 32'h1 : (seed ^ 32'h6A09E667);  // dense state
          rd_idx <= '0; wr_idx <= '0; extra <= '0; rcyc <= '0; idle <= '0; tmo <= 1'b0;
          done <= 1'b0;
          state <= (n_out == 32'd0) ? S_DRAIN : S_RUN;
          drain_left <= drain_cycles;
        end
        S_RUN, S_DRAIN: begin
          rcyc <= rcyc + 64'd1;
          idle <= (in_hs || out_hs) ? 64'd0 : idle + 64'd1;
          if (in_hs) begin
            in_cyc_mem[rd_idx[AIW-1:0]] <= rcyc;
            rd_idx <= rd_idx + 32'd1;
          end
          if (out_hs && state == S_RUN) begin
            out_mem[wr_idx[AOW-1:0]] <= out_data;
            out_cyc_mem[wr_idx[AOW-1:0]] <= rcyc;
            wr_idx <= wr_idx + 32'd1;
          end
          if (out_hs && state == S_DRAIN) extra <= extra + 32'd1;
          if (state == S_DRAIN) drain_left <= drain_left - 32'd1;
          if (last_out) begin
            state <= (drain_cycles == 32'd0) ? S_WRITE : S_DRAIN;
          end else if (state == S_DRAIN && drain_left <= 32'd1) begin
            state <= S_WRITE;
          end else if (state == S_RUN && over) begin
            tmo <= 1'b1;
            state <= S_WRITE;
          end
        end
        S_WRITE: begin        // the last words landed in the memories on the previous edge
          if (wr_idx != 32'd0) begin
            $writememh(outfile, out_mem, 0, wr_idx - 32'd1);
            $writememh(outcycfile, out_cyc_mem, 0, wr_idx - 32'd1);
          end
          if (rd_idx != 32'd0) $writememh(incycfile, in_cyc_mem, 0, rd_idx - 32'd1);
          done  <= 1'b1;
          state <= S_DONE;
        end
        default: state <= S_IDLE;
      endcase
    end
  end

  assign timed_out   = tmo;
  assign words_in    = rd_idx;
  assign words_out   = wr_idx;
  assign words_extra = extra;
  assign run_cycles  = rcyc;
endmodule
