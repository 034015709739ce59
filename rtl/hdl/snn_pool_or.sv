// snn_pool_or: OR (max) pooling of spike slices, event-driven (kernel pool_or).
//
// Each input slice ORs into its pooled entry {g, py, px}; only channels set for the first time
// in this timestep go out, so every pooled spike is sent once per timestep. An entry's word holds
// {stamp, mask}: the mask is valid for the timestep stamp - 1, so nothing is cleared between
// timesteps; a sweep clears the stamps after each image's last timestep and after reset.
// Pooled coordinates come from constant tables (y -> y / SIZE, built at elaboration), rows and
// columns beyond OUT * SIZE are dropped. Read-modify-write at one token per cycle: the RAM is
// read in the issue cycle and written one cycle later, so the same entry recurring in the next
// cycle reads the forwarding register; any later recurrence reads the RAM. PIPE = 2.
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
    logic [STB-1:0] t;           // timestep of the tokens now in stage 1
    logic clearing;
    logic [AB-1:0] clr_addr;

    // stage 1 registers (declared here: the issue stage must not follow the image's last eot)
    logic v1, eot1, keep1;
    logic [AB-1:0] a1;
    logic [SL-1:0] m1;
    wire last_eot1 = v1 && eot1 && (t == STB'(T - 1));
    assign in_ready = in_valid && tok_room && !clearing && !last_eot1;
    wire [AB-1:0] a0 = {in_g, py_of[in_y], px_of[in_x]};

    logic [STB+SL-1:0] q;
    always_ff @(posedge clk) begin
        q <= ram[a0];
        v1 <= in_ready && rst_n;
        eot1 <= in_eot;
        keep1 <= y_kept[in_y] && x_kept[in_x];
        a1 <= a0;
        m1 <= in_mask;
    end

    // stage 1: merge with the entry (the forwarding register covers a write one cycle ago)
    logic fwd_v;
    logic [AB-1:0] fwd_a;
    logic [SL-1:0] fwd_m;
    wire [STB-1:0] now = t + STB'(1);
    wire [SL-1:0] stored = (q[STB+SL-1:SL] == now) ? q[SL-1:0] : '0;
    wire [SL-1:0] old = (fwd_v && fwd_a == a1) ? fwd_m : stored;
    wire [SL-1:0] fresh = m1 & ~old;
    wire wr = v1 && !eot1 && keep1;

    // one write port (the stamp sweep or the merge), so the state maps to a RAM
    always_ff @(posedge clk) begin
        if (clearing || wr)
            ram[clearing ? clr_addr : a1] <= clearing ? '0 : {now, old | m1};
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            t <= '0;
            clearing <= 1'b1;
            clr_addr <= '0;
            fwd_v <= 1'b0;
        end else begin
            fwd_v <= wr;
            fwd_a <= a1;
            fwd_m <= old | m1;
            if (clearing) begin
                clr_addr <= clr_addr + AB'(1);
                if (clr_addr == {AB{1'b1}})
                    clearing <= 1'b0;
            end else if (v1 && eot1) begin
                if (t == STB'(T - 1)) begin
                    t <= '0;
                    clearing <= 1'b1;
                end else
                    t <= t + STB'(1);
            end
        end
    end

    // stage 2: the token (fresh channels of the pooled slice, or the end of the timestep)
    always_ff @(posedge clk) begin
        tok_valid <= v1 && (eot1 || (keep1 && fresh != '0));
        tok_data <= {eot1, a1[AB-1 -: GB], a1[XBO +: YBO], a1[XBO-1:0], eot1 ? SL'(0) : fresh};
    end
endmodule
