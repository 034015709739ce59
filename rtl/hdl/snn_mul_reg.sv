// snn_mul_reg: the design's multiplier (snn_direct_current: a weight times a pixel code), with
// its input and output registers: p is the product of a and b presented two cycles before.
// The ops' behaviour, in plain registers and `*`: Verilator simulates this, and a synthesis
// that packs registers into its DSP itself (Yosys' xilinx_dsp into DSP48E1 AREG/BREG/PREG)
// maps it as is. The ECP5 flow replaces this file by hdl/ecp5/snn_mul_reg.sv (project.json
// "variants"), the same ports and timing on MULT18X18D's own registers: Yosys maps `*` onto
// MULT18X18D without them and nextpnr does not pack fabric flip-flops into the DSP, so the
// product path was 4.5 ns through the DSP plus routing on both sides (issue 19).
module snn_mul_reg #(
    parameter int AW = 4,           // a: signed
    parameter int BW = 8,           // b: unsigned
    parameter int PW = AW + BW + 1  // p: the product, signed, in PW bits (it must fit)
) (
    input  logic clk,
    input  logic signed [AW-1:0] a,
    input  logic [BW-1:0] b,
    output logic signed [PW-1:0] p
);
    initial begin
        if (AW < 1 || BW < 1 || PW < AW + BW + 1)
            $fatal(1, "snn_mul_reg: the product of %0d x %0d bits needs PW >= %0d", AW, BW,
                   AW + BW + 1);
    end
    logic signed [AW-1:0] ar;
    // keep: a multiplier's operand register is its own; opt_merge would fold the copies of a
    // code that every lane multiplies back into one register fanned out across the die
    (* keep *) logic [BW-1:0] br;
    always_ff @(posedge clk) begin
        ar <= a;
        br <= b;
        p <= PW'(ar) * PW'({1'b0, br});
    end
endmodule
