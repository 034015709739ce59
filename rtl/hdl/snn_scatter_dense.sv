// snn_scatter_dense: the state of a dense layer (membranes or readout accumulators) and the
// scatter of one timestep's input spikes into it, shared by snn_dense_event and snn_readout.
//
// State: a RAM of GROUPS words x LANES values (registered address, registered read, then an
// output register: timing). Scatter: for each spike of each input slice and each output group,
// one cycle: read the group's word, add the weights of input (c, y, x) and write it back; the
// same word recurs at distance GROUPS, and a read misses the writes of the two accesses before
// it, so with GROUPS <= 2 a two-deep history of the written words (newest first) covers them.
// The weight ROM (its address registered too) is addressed
// {input group, spike index, y, x, output group} (power-of-two fields; padded entries are zero),
// one word of LANES weights. On the end-of-timestep token the scatter stops and the parent
// (fire pass or result) owns the RAM port until it pulses `resume`. Reset clears the state.
module snn_scatter_dense #(
    parameter int IN_G = 16,
    parameter int IN_H = 7,
    parameter int IN_W = 7,
    parameter int IN_GROUPS = 2,
    parameter int LANES = 10,
    parameter int GROUPS = 1,
    parameter int SB = 14,           // state bits (membrane or accumulator)
    parameter int WB = 4,
    parameter int YBI = 3,
    parameter int XBI = 3,
    parameter int GBI = 1,
    parameter int GBO = 1,
    parameter W_FILE = "w.hex"
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [IN_G+XBI+YBI+GBI:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    output logic idle,                      // a timestep's scatter is done: the parent's turn
    input  logic resume,                    // the parent is done: scatter the next timestep
    input  logic [GBO-1:0] p_addr,          // the parent's RAM ports (while idle): read address
    output logic [LANES*SB-1:0] p_q,        //   p_addr's word, three cycles after it
    input  logic p_we,                      //   write
    input  logic [GBO-1:0] p_waddr,
    input  logic [LANES*SB-1:0] p_wdata
);
    localparam int LBI = (IN_G > 1) ? $clog2(IN_G) : 1;
    // weight word address {g_in, lsb, y, x, og}; a field of a count that is 1 has no bits
    localparam int GBIE = (IN_GROUPS > 1) ? GBI : 0;
    localparam int GBOE = (GROUPS > 1) ? GBO : 0;
    localparam int YBE = (IN_H > 1) ? YBI : 0;
    localparam int XBE = (IN_W > 1) ? XBI : 0;
    localparam int WAB = GBIE + LBI + YBE + XBE + GBOE;

    initial begin
        if ((1 << GBO) < GROUPS || (1 << GBI) < IN_GROUPS || (1 << YBI) < IN_H
            || (1 << XBI) < IN_W || SB < 1 || SB > 32 || WB < 2 || WB > 8)
            $fatal(1, "snn_scatter_dense: inconsistent parameters");
    end

    logic [LANES*WB-1:0] wrom [1 << WAB];
    initial $readmemh(W_FILE, wrom);
    logic [LANES*SB-1:0] ram [1 << GBO];

    typedef enum logic [1:0] {CLEAR, SCATTER, SETTLE, PARENT} state_t;
    state_t state;
    logic [GBO-1:0] clr_addr;
    logic issue, at_eot;
    logic [GBI-1:0] tok_g;
    logic [LBI-1:0] lsb;
    logic [YBI-1:0] tok_y;
    logic [XBI-1:0] tok_x;
    logic [GBO-1:0] og;
    snn_spike_iter #(.IN_G(IN_G), .YBI(YBI), .XBI(XBI), .GBI(GBI), .GROUPS(GROUPS), .GBO(GBO))
        u_iter (.clk, .rst_n, .enable(state == SCATTER), .in_data, .in_valid, .in_ready,
                .issue, .g(tok_g), .lsb, .y(tok_y), .x(tok_x), .og, .at_eot);
    assign idle = (state == PARENT);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= CLEAR;
            clr_addr <= '0;
        end else begin
            case (state)
                CLEAR: begin
                    clr_addr <= clr_addr + GBO'(1);
                    if (clr_addr == {GBO{1'b1}})
                        state <= SCATTER;
                end
                SCATTER: if (at_eot) state <= SETTLE;   // the last write lands now
                SETTLE: state <= PARENT;
                PARENT: if (resume) state <= SCATTER;
                default: state <= CLEAR;
            endcase
        end
    end

    // stage 1: the word and the weights arrive; stage 2: registered, add (forwarding the
    // writes of the two accesses before)
    logic [LANES*WB-1:0] wq, wq2;
    logic [LANES*SB-1:0] q, q2;
    logic [WAB-1:0] wa0;
    logic [GBO-1:0] ra0, a0, a1, a2;
    logic v0, v1, v2;
    wire [GBO-1:0] raddr = (state == PARENT) ? p_addr : og;
    always_ff @(posedge clk) begin
        wa0 <= (WAB'(tok_g) << (LBI + YBE + XBE + GBOE)) | (WAB'(lsb) << (YBE + XBE + GBOE))
               | (WAB'(tok_y) << (XBE + GBOE)) | (WAB'(tok_x) << GBOE) | WAB'(og);
        ra0 <= raddr;
        v0 <= issue && rst_n;
        a0 <= og;
        wq <= wrom[wa0];
        q <= ram[ra0];
        v1 <= v0 && rst_n;
        a1 <= a0;
        wq2 <= wq;
        q2 <= q;
        v2 <= v1 && rst_n;
        a2 <= a1;
    end
    assign p_q = q2;

    logic [LANES*SB-1:0] old, sum;
    if (GROUPS <= 2) begin : g_fwd
        logic h_v;          // the newest history entry is a write
        logic [GBO-1:0] h_a;
        logic [LANES*SB-1:0] h_w [2];
        logic m1, m2;                   // stage 2's word is h_w[0] / h_w[1] (decided in stage 1)
        always_ff @(posedge clk) begin
            h_v <= v2 && rst_n;
            h_a <= a2;
            h_w[0] <= sum;
            h_w[1] <= h_w[0];
            m1 <= v2 && a2 == a1;
            m2 <= h_v && h_a == a1;
        end
        assign old = m1 ? h_w[0] : (m2 ? h_w[1] : q2);
    end else begin : g_nofwd
        assign old = q2;
    end
    always_comb begin
        for (int l = 0; l < LANES; l++)
            sum[l*SB +: SB] = old[l*SB +: SB] + SB'($signed(wq2[l*WB +: WB]));
    end

    // one write port (clear sweep, scatter or the parent), so the state maps to a RAM
    // (a parent's write may land after it resumed the scatter: its pipeline is as deep as
    // ours, and the scatter's first write comes later)
    wire we = (state == CLEAR) || v2 || p_we;
    wire [GBO-1:0] wa = (state == CLEAR) ? clr_addr : (v2 ? a2 : p_waddr);
    wire [LANES*SB-1:0] wd = (state == CLEAR) ? '0 : (v2 ? sum : p_wdata);
    always_ff @(posedge clk) begin
        if (we)
            ram[wa] <= wd;
    end
endmodule
