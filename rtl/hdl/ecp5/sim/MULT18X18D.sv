// MULT18X18D, behavioural: a simulation model of the ECP5 sysDSP 18 x 18 multiplier in the
// modes hdl/ecp5/snn_mul_reg.sv uses, for Verilator (Yosys ships the primitive only as a black
// box, Lattice's model is not open). Per Lattice TN1267 (ECP5 sysDSP usage guide): A and B
// (with SIGNEDA / SIGNEDB) pass an optional input register each, the 36-bit product an
// optional pipeline register and an optional output register; each register is clocked by
// CLK0, enabled by CE0 and synchronously cleared by RST0 when its REG_*_CLK / _CE / _RST
// name them. Anything else (other clocks, the C port, shift chains, cascades, the ALU,
// MULT_BYPASS) stops the simulation instead of being modelled wrongly. Test-bench only: the
// ECP5 flow synthesises the real primitive.
// verilator lint_off DECLFILENAME
// verilator lint_off UNUSEDSIGNAL
// verilator lint_off UNUSEDPARAM
module MULT18X18D (
    A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0,
    B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0,
    C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0,
    SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3,
    RST0, RST1, RST2, RST3,
    P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
    P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0
);
    parameter REG_INPUTA_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0";
    parameter REG_INPUTA_RST = "RST0";
    parameter REG_INPUTB_CLK = "NONE";
    parameter REG_INPUTB_CE = "CE0";
    parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE";
    parameter REG_PIPELINE_CLK = "NONE";
    parameter REG_PIPELINE_CE = "CE0";
    parameter REG_PIPELINE_RST = "RST0";
    parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_OUTPUT_CE = "CE0";
    parameter REG_OUTPUT_RST = "RST0";
    parameter GSR = "ENABLED";
    parameter RESETMODE = "SYNC";
    parameter SOURCEB_MODE = "B_SHIFT";
    parameter MULT_BYPASS = "DISABLED";
    input A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0;
    input B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0;
    input C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0;
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3;
    input RST0, RST1, RST2, RST3;
    output P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0;

    localparam bit RA = REG_INPUTA_CLK != "NONE";
    localparam bit RB = REG_INPUTB_CLK != "NONE";
    localparam bit RP = REG_PIPELINE_CLK != "NONE";
    localparam bit RO = REG_OUTPUT_CLK != "NONE";
    initial begin
        if ((RA && (REG_INPUTA_CLK != "CLK0" || REG_INPUTA_CE != "CE0" || REG_INPUTA_RST != "RST0"))
            || (RB && (REG_INPUTB_CLK != "CLK0" || REG_INPUTB_CE != "CE0"
                       || REG_INPUTB_RST != "RST0"))
            || (RP && (REG_PIPELINE_CLK != "CLK0" || REG_PIPELINE_CE != "CE0"
                       || REG_PIPELINE_RST != "RST0"))
            || (RO && (REG_OUTPUT_CLK != "CLK0" || REG_OUTPUT_CE != "CE0"
                       || REG_OUTPUT_RST != "RST0")))
            $fatal(1, "MULT18X18D model: only CLK0 / CE0 / RST0 registers are modelled");
        if (REG_INPUTC_CLK != "NONE" || MULT_BYPASS != "DISABLED" || RESETMODE != "SYNC")
            $fatal(1, "MULT18X18D model: the C register, bypass and async reset are not modelled");
    end

    wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
    logic [17:0] ar, br;
    logic sar, sbr;
    always_ff @(posedge CLK0) begin
        if (RST0) begin
            ar <= '0; br <= '0; sar <= 1'b0; sbr <= 1'b0;
        end else if (CE0) begin
            ar <= a; br <= b; sar <= SIGNEDA; sbr <= SIGNEDB;
        end
    end
    wire [17:0] ai = RA ? ar : a;
    wire [17:0] bi = RB ? br : b;
    wire sa = RA ? sar : SIGNEDA;
    wire sb = RB ? sbr : SIGNEDB;
    wire signed [36:0] ax = {{19{sa & ai[17]}}, ai};
    wire signed [36:0] bx = {{19{sb & bi[17]}}, bi};
    wire signed [73:0] prod = ax * bx;
    wire [35:0] m = prod[35:0];
    logic [35:0] pr, orr;
    always_ff @(posedge CLK0) begin
        if (RST0) begin
            pr <= '0; orr <= '0;
        end else if (CE0) begin
            pr <= m; orr <= RP ? pr : m;
        end
    end
    wire [35:0] pp = RP ? pr : m;
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = RO ? orr : pp;
    wire unused = &{1'b0, C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0, SOURCEA, SOURCEB, CLK1, CLK2, CLK3, CE1, CE2, CE3,
                     RST1, RST2, RST3};
endmodule
