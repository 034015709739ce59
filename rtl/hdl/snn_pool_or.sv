// snn_pool_or: OR (max) pooling of spike slices, event-driven (kernel pool_or).
//
// Each input slice ORs into its pooled entry {g, py, px}; only channels set for the first time
// in this timestep go out, so every pooled spike is sent once per timestep. An entry's word holds
// {stamp, mask}: the mask is valid for the timestep stamp - 1, so nothing is cleared between
// timesteps; a sweep clears the stamps after each image's last timestep and after reset.
// Pooled coordinates come from constant tables (y -> y / SIZE, built at elaboration), rows and
// columns beyond OUT * SIZE are dropped. Read-modify-write at one token per cycle: the RAM is
// read in the issue cycle, its word registered (timing), merged and written two cycles later,
// so an entry recurring at distance 1 or 2 misses those writes: a two-deep history of the
// written words {stamp, mask} (newest first) replaces the RAM word then, and the stamp check
// applies to it as to a RAM word (a write of the previous timestep is no current mask).
// Token: PIPE = 3.
module snn_pool_or #(
    parameter int SIZE = 2,
    parameter int IN_H = 28,
    parameter int IN_W = 28,
    parameter int OUT_H = 14,
    parameter int OUT_W = 14,
    parameter int IN_GROUPS = 1,
    parameter int SL = 16,           // slice width (channels per token)
    parameter int T = 8,
    parameter int YBI = 5,           // token field widths: input y, x; output y, x; group
    parameter int XBI = 5,
    parameter int YBO = 4,
    parameter int XBO = 4,
    parameter int GB = 1
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [SL+XBI+YBI+GB:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    output logic [SL+XBO+YBO+GB:0] tok_data,
    output logic tok_valid,
    input  logic tok_room
);
    localparam int AB = GB + YBO + XBO;
    localparam int STB = $clog2(T + 1);      // stamps 0 (never) .. T

    initial begin
        if (SIZE < 1 || OUT_H != IN_H / SIZE || OUT_W != IN_W / SIZE || OUT_H < 1 || OUT_W < 1
            || (1 << YBO) < OUT_H || (1 << XBO) < OUT_W || (1 << YBI) < IN_H
            || (1 << XBI) < IN_W || (1 << GB) < IN_GROUPS || T < 1)
            $fatal(1, "snn_pool_or: inconsistent parameters");
    end

    // constant tables: pooled row / column of each input row / column, and whether it is kept
    logic [YBO-1:0] py_of [1 << YBI];
    logic [XBO-1:0] px_of [1 << XBI];
    logic [(1 << YBI)-1:0] y_kept;
    logic [(1 << XBI)-1:0] x_kept;
    for (genvar i = 0; i < (1 << YBI); i++) begin : g_ylut
        assign py_of[i] = YBO'((i / SIZE < OUT_H) ? i / SIZE : 0);
        assign y_kept[i] = (i / SIZE < OUT_H);
    end
    for (genvar i = 0; i < (1 << XBI); i++) begin : g_xlut
        assign px_of[i] = XBO'((i / SIZE < OUT_W) ? i / SIZE : 0);
        assign x_kept[i] = (i / SIZE < OUT_W);
    end

    wire in_eot = in_data[SL+XBI+YBI+GB];
    wire [GB-1:0] in_g = in_data[SL+XBI+YBI +: GB];
    wire [YBI-1:0] in_y = in_data[SL+XBI +: YBI];
    wire [XBI-1:0] in_x = in_data[SL +: XBI];
    wire [SL-1:0] in_mask = in_data[SL-1:0];

    logic [STB+SL-1:0] ram [1 << AB];
    logic [STB-1:0] t;           // timestep of the tokens now in stage 2
    logic clearing;
    logic [AB-1:0] clr_addr;

    // stage 1 and 2 registers (declared here: the issue stage must not follow the image's last
    // eot, which ends the timesteps in stage 2 and starts the stamp sweep)
    logic v1, eot1, keep1, v2, eot2, keep2;
    logic [AB-1:0] a1, a2;
    logic [SL-1:0] m1, m2;
    wire last_eot1 = v1 && eot1 && (t == STB'(T - 1));
    wire last_eot2 = v2 && eot2 && (t == STB'(T - 1));
    assign in_ready = in_valid && tok_room && !clearing && !last_eot1 && !last_eot2;
    wire [AB-1:0] a0 = {in_g, py_of[in_y], px_of[in_x]};

    logic [STB+SL-1:0] q, q2;
    always_ff @(posedge clk) begin
        q <= ram[a0];
        v1 <= in_ready && rst_n;
        eot1 <= in_eot;
        keep1 <= y_kept[in_y] && x_kept[in_x];
        a1 <= a0;
        m1 <= in_mask;
        q2 <= q;
        v2 <= v1 && rst_n;
        eot2 <= eot1;
        keep2 <= keep1;
        a2 <= a1;
        m2 <= m1;
    end

    // stage 2: merge with the entry (the history covers the writes of the two tokens before)
    logic h_v;          // the newest history entry is a write
    logic [STB+SL-1:0] h_w [2];
    logic [AB-1:0] h_a;
    logic hm1, hm2;                     // stage 2's word is h_w[0] / h_w[1] (decided in stage 1)
    wire wr = v2 && !eot2 && keep2;
    wire [STB-1:0] now = t + STB'(1);
    wire [STB+SL-1:0] word = hm1 ? h_w[0] : (hm2 ? h_w[1] : q2);
    wire [SL-1:0] old = (word[STB+SL-1:SL] == now) ? word[SL-1:0] : '0;
    wire [SL-1:0] fresh = m2 & ~old;

    // one write port (the stamp sweep or the merge), so the state maps to a RAM
    always_ff @(posedge clk) begin
        if (clearing || wr)
            ram[clearing ? clr_addr : a2] <= clearing ? '0 : {now, old | m2};
    end

    always_ff @(posedge clk) begin
        h_v <= wr && rst_n;
        h_a <= a2;
        h_w[0] <= {now, old | m2};
        h_w[1] <= h_w[0];
        hm1 <= wr && a2 == a1;
        hm2 <= h_v && h_a == a1;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            t <= '0;
            clearing <= 1'b1;
            clr_addr <= '0;
        end else begin
            if (clearing) begin
                clr_addr <= clr_addr + AB'(1);
                if (clr_addr == {AB{1'b1}})
                    clearing <= 1'b0;
            end else if (v2 && eot2) begin
                if (t == STB'(T - 1)) begin
                    t <= '0;
                    clearing <= 1'b1;
                end else
                    t <= t + STB'(1);
            end
        end
    end

    // stage 3: the token (fresh channels of the pooled slice, or the end of the timestep; none
    // in reset: v2 of the reset cycle is no token)
    always_ff @(posedge clk) begin
        tok_valid <= rst_n && v2 && (eot2 || (keep2 && fresh != '0));
        tok_data <= {eot2, a2[AB-1 -: GB], a2[XBO +: YBO], a2[XBO-1:0], eot2 ? SL'(0) : fresh};
    end
endmodule
