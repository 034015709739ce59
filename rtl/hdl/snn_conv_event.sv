// snn_conv_event: a spike-driven convolution + LIF layer (kernel conv_event). No multipliers:
// every input spike adds its weights to the membranes it reaches.
//
// Membranes: K x K banks by (oy mod K, ox mod K), each a RAM (snn_ram) of GROUPS x BANK_H x
// BANK_W words (group, oy / K, ox / K; dense: (group * BANK_H + oy / K) * BANK_W + ox / K, from
// constant tables, so no word is padding) of LANES membranes, so the K^2 outputs one input spike
// reaches lie in distinct banks and all taps update in the same cycle; BANK_LUTRAM = 1 puts the
// banks in distributed RAM (shallow and wide: a block RAM would be mostly empty). Per timestep:
//   scatter: for each spike of each input slice (lowest set bit first) and each output group,
//            one cycle: every bank reads its word, adds the weight of its tap and writes it
//            back. Pipeline (timing: addresses and RAM outputs registered around the RAMs):
//            issue -> address register -> RAM word -> output register, add, write: a word
//            read in cycle a misses the writes of the accesses issued in a - 1 and a - 2. The
//            same word comes back at distance GROUPS (the next spike of the slice, or the next
//            slice at the same place), so with GROUPS <= 2 a two-deep history of each bank's
//            writes (address, word) is forwarded, newest first; with GROUPS >= 3 no access can
//            see a stale word.
//   fire:    one pass over the (y, x, group) words, group fastest: fire, soft reset, store
//            leak(U) for the next timestep (0 after the last one) and send non-empty slices,
//            then the end-of-timestep token. Pipeline: issue -> address register -> RAM word
//            -> output register -> the fire bank's word selected (a registered one-hot per
//            bank) -> fire and reset (registered, snn_fire) -> leak, write and token:
//            PIPE = 6. Each word is visited once, the pass starts after the last scatter write
//            has landed (at_eot, SETTLE), and the next scatter starts DRAIN cycles after the
//            end-of-timestep token, when the pass's last write has landed: no dependence.
// Input rows reach the banks through constant tables (y + PAD) / K and (y + PAD) mod K; the fire
// pass carries quotient / remainder counters. Weights: every bank has its own copy of the ROM
// {input channel, og * K * K + ky * K + kx} of LANES weights (rtl/writer.py lays it out; the
// K * K * GROUPS taps of a channel packed, no padding), addressed with the tap (ky, kx) that
// bank takes for a spike with row / column remainders (ry, rx), from constant tables: each
// bank's address register drives only its own block RAMs, next to its membranes. Reset clears
// every membrane by a sweep.
module snn_conv_event #(
    parameter int IN_G = 16,         // input slice width
    parameter int IN_H = 14,
    parameter int IN_W = 14,
    parameter int IN_GROUPS = 1,
    parameter int OUT_H = 14,
    parameter int OUT_W = 14,
    parameter int K = 3,
    parameter int PAD = 1,
    parameter int LANES = 16,
    parameter int GROUPS = 2,
    parameter int BANK_H = 5,
    parameter int BANK_W = 5,
    parameter int T = 8,
    parameter longint TH = 1,        // 1 .. 2^(MB-1) (2^31 > int)
    parameter int LEAK = 3,
    parameter int MB = 16,
    parameter int WB = 4,
    parameter int YBI = 4,           // token field widths (input / output)
    parameter int XBI = 4,
    parameter int GBI = 1,
    parameter int YBO = 4,
    parameter int XBO = 4,
    parameter int GBO = 1,
    parameter int BANK_LUTRAM = 0,   // 1: membrane banks in distributed (LUT) RAM
    parameter W_FILE = "w.hex"
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [IN_G+XBI+YBI+GBI:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    output logic [LANES+XBO+YBO+GBO:0] tok_data,
    output logic tok_valid,
    input  logic tok_room
);
    localparam int LBI = (IN_G > 1) ? $clog2(IN_G) : 1;         // spike index within a slice
    localparam int QYB = (BANK_H > 1) ? $clog2(BANK_H) : 1;
    localparam int QXB = (BANK_W > 1) ? $clog2(BANK_W) : 1;
    localparam int RB = (K > 1) ? $clog2(K) : 1;
    localparam int DEPTH = GROUPS * BANK_H * BANK_W;             // words of a bank
    // a LUT-RAM bank's enable and address registers: one copy per 4 lanes (or per lane)
    localparam int RAM_SLICES = (LANES % 4 == 0) ? LANES / 4 : LANES;
    localparam int AB = (DEPTH > 1) ? $clog2(DEPTH) : 1;         // bank word address
    // weight word address {g_in, lsb, og * K * K + tap}; a field of a count that is 1 has no bits
    localparam int GBIE = (IN_GROUPS > 1) ? GBI : 0;
    localparam int KK = K * K;
    localparam int TGB = (GROUPS * KK > 1) ? $clog2(GROUPS * KK) : 1;   // og * K * K + tap
    localparam int WAB = GBIE + LBI + TGB;
    localparam int TB = $clog2(T + 1);

    initial begin
        if (OUT_H != IN_H + 2 * PAD - K + 1 || OUT_W != IN_W + 2 * PAD - K + 1
            || BANK_H != (OUT_H + K - 1) / K || BANK_W != (OUT_W + K - 1) / K
            || (1 << GBO) < GROUPS || (1 << GBI) < IN_GROUPS || (1 << YBI) < IN_H
            || (1 << XBI) < IN_W || (1 << YBO) < OUT_H || (1 << XBO) < OUT_W || TH < 1
            || LEAK < 1 || LEAK > 15 || MB < 2 || MB > 32 || WB < 2 || WB > 8 || K < 1
            || TH > (longint'(1) << (MB - 1)))
            $fatal(1, "snn_conv_event: inconsistent parameters");
    end

    // ---- constant tables ---------------------------------------------------------------------
    logic [QYB:0] qy_of [1 << YBI];
    logic [RB-1:0] ry_of [1 << YBI];
    logic [QXB:0] qx_of [1 << XBI];
    logic [RB-1:0] rx_of [1 << XBI];
    for (genvar i = 0; i < (1 << YBI); i++) begin : g_ytab
        assign qy_of[i] = (QYB + 1)'((i + PAD) / K);
        assign ry_of[i] = RB'((i + PAD) % K);
    end
    for (genvar i = 0; i < (1 << XBI); i++) begin : g_xtab
        assign qx_of[i] = (QXB + 1)'((i + PAD) / K);
        assign rx_of[i] = RB'((i + PAD) % K);
    end

    // dense bank addresses: row (oy / K) * BANK_W and group * BANK_H * BANK_W, as tables (no
    // multiplier); a row or group past the bank's gives 0 (such accesses are never written)
    logic [AB-1:0] row_of [1 << (QYB + 1)];
    for (genvar i = 0; i < (1 << (QYB + 1)); i++) begin : g_rowtab
        assign row_of[i] = AB'((i < BANK_H) ? i * BANK_W : 0);
    end
    logic [AB-1:0] gbase_of [1 << GBO];
    for (genvar i = 0; i < (1 << GBO); i++) begin : g_gtab
        assign gbase_of[i] = AB'((i < GROUPS) ? i * BANK_H * BANK_W : 0);
    end

    // ---- weights ---------------------------------------------------------------------------
    // og * K * K, the first tap of an output group in the ROM
    logic [TGB-1:0] ogk_of [1 << GBO];
    for (genvar i = 0; i < (1 << GBO); i++) begin : g_ogk
        assign ogk_of[i] = TGB'((i < GROUPS) ? i * KK : 0);
    end

    // ---- control -----------------------------------------------------------------------------
    typedef enum logic [2:0] {CLEAR, SCATTER, SETTLE, FIRE, FIRE_EOT, DRAIN} state_t;
    localparam int DRAIN_CYCLES = 2;   // the fire pass's last write lands before a scatter read
    logic drain_n;
    state_t state;
    logic [AB-1:0] clr_addr;
    logic [TB-1:0] t;
    // scatter: the spike being added (snn_spike_iter walks the input slices)
    logic scatter_issue, at_eot;
    logic [K*K-1:0][GBI-1:0] tok_g;          // the spike's slice group and channel: a copy
    logic [K*K-1:0][LBI-1:0] lsb;            // per bank (its weight address)
    logic [K*K-1:0][YBI-1:0] tok_y;          // the spike's row and column: a copy per bank
    logic [K*K-1:0][XBI-1:0] tok_x;
    logic [K*K-1:0][GBO-1:0] og;             // ... and its output group: a copy per bank
    // fire: counters (oy, ox, group) for the tokens; each bank steps its own copy of the
    // position as quotient / remainder by K (snn_fire_pos) for its address and select
    logic [YBO-1:0] oy;
    logic [XBO-1:0] ox;
    logic [GBO-1:0] fg;

    snn_spike_iter #(.IN_G(IN_G), .YBI(YBI), .XBI(XBI), .GBI(GBI), .GROUPS(GROUPS), .GBO(GBO),
                     .COPIES(K * K))
        u_iter (.clk, .rst_n, .enable(state == SCATTER), .in_data, .in_valid, .in_ready,
                .issue(scatter_issue), .g(tok_g), .lsb, .y(tok_y), .x(tok_x), .og, .at_eot);
    wire fire_issue = (state == FIRE) && tok_room;
    wire eot_issue = (state == FIRE_EOT) && tok_room;
    wire last_t = (t == TB'(T - 1));
    wire fire_last = (oy == YBO'(OUT_H - 1)) && (ox == XBO'(OUT_W - 1)) && (fg == GBO'(GROUPS - 1));

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= CLEAR;
            clr_addr <= '0;
            t <= '0;
            drain_n <= 1'b0;
            {oy, ox, fg} <= '0;
        end else begin
            case (state)
                CLEAR: begin
                    clr_addr <= clr_addr + AB'(1);
                    if (clr_addr == AB'(DEPTH - 1))
                        state <= SCATTER;
                end
                SCATTER: if (at_eot) state <= SETTLE;   // the last scatter write lands now
                SETTLE: state <= FIRE;
                FIRE: if (fire_issue) begin
                    if (fg == GBO'(GROUPS - 1)) begin
                        fg <= '0;
                        if (ox == XBO'(OUT_W - 1)) begin
                            ox <= '0;
                            oy <= oy + YBO'(1);
                        end else
                            ox <= ox + XBO'(1);
                    end else
                        fg <= fg + GBO'(1);
                    if (fire_last) begin
                        {oy, ox, fg} <= '0;
                        state <= FIRE_EOT;
                    end
                end
                FIRE_EOT: if (eot_issue) begin
                    t <= last_t ? '0 : t + TB'(1);
                    state <= DRAIN;
                    drain_n <= 1'b0;
                end
                DRAIN: begin
                    drain_n <= 1'b1;
                    if (drain_n == 1'(DRAIN_CYCLES - 1))
                        state <= SCATTER;
                end
                default: state <= CLEAR;
            endcase
        end
    end

    // ---- stage 0 -> 1: the ROM and bank addresses and the control, registered (the addresses
    // fan out to every block RAM of the ROM and the banks: a register's whole cycle for that);
    // 1 -> 2: the words arrive; 2 -> 3: registered ------------------------------------------
    logic s0, f0, e0, last0, s1, f1, e1, last1, s2, f2, e2, last2;
    logic [YBO-1:0] oy0, oy1, oy2;
    logic [XBO-1:0] ox0, ox1, ox2;
    logic [GBO-1:0] fg0, fg1, fg2;
    always_ff @(posedge clk) begin
        s0 <= scatter_issue && rst_n;
        f0 <= fire_issue && rst_n;
        e0 <= eot_issue && rst_n;
        last0 <= last_t;
        {oy0, ox0, fg0} <= {oy, ox, fg};
        s1 <= s0 && rst_n;
        f1 <= f0 && rst_n;
        e1 <= e0 && rst_n;
        last1 <= last0;
        {oy1, ox1, fg1} <= {oy0, ox0, fg0};
        s2 <= s1 && rst_n;
        f2 <= f1 && rst_n;
        e2 <= e1 && rst_n;
        last2 <= last1;
        {oy2, ox2, fg2} <= {oy1, ox1, fg1};
    end

    logic [K*K-1:0][LANES*MB-1:0] fq_b;   // each bank's word in stage 2 if it is the fire's
    logic [LANES-1:0] fire_spikes;
    logic [LANES*MB-1:0] fire_next;

    for (genvar by = 0; by < K; by++) begin : g_by
        for (genvar bx = 0; bx < K; bx++) begin : g_bx
            localparam int B = by * K + bx;
            // output rows of this bank: oy = yb * K + by < OUT_H, i.e. yb < YLIM
            localparam int YLIM = (OUT_H - by + K - 1) / K;
            localparam int XLIM = (OUT_W - bx + K - 1) / K;
            // stage 0: this bank's word and tap for the spike being scattered, from its own
            // copy of the spike's row and column
            wire [QYB:0] qy = qy_of[tok_y[B]];
            wire [RB-1:0] ry = ry_of[tok_y[B]];
            wire [QXB:0] qx = qx_of[tok_x[B]];
            wire [RB-1:0] rx = rx_of[tok_x[B]];
            logic ylow, xlow;       // the spike's row / column remainder reaches this bank
            if (by == 0) begin : g_y0
                assign ylow = 1'b1;
            end else begin : g_y
                assign ylow = (ry >= RB'(by));
            end
            if (bx == 0) begin : g_x0
                assign xlow = 1'b1;
            end else begin : g_x
                assign xlow = (rx >= RB'(bx));
            end
            wire [QYB:0] yb = ylow ? qy : qy - (QYB + 1)'(1);
            wire [QXB:0] xb = xlow ? qx : qx - (QXB + 1)'(1);
            wire yok = (ylow || qy != '0) && (yb < (QYB + 1)'(YLIM));
            wire xok = (xlow || qx != '0) && (xb < (QXB + 1)'(XLIM));
            wire [AB-1:0] saddr = gbase_of[og[B]] + row_of[yb] + AB'(xb);
            // this bank's tap for the spike: ky = ry - by (mod K), kx = rx - bx (mod K)
            logic [TGB-1:0] tap_of [1 << (2 * RB)];
            for (genvar i = 0; i < (1 << (2 * RB)); i++) begin : g_tap
                localparam int RY = i >> RB, RX = i % (1 << RB);
                localparam int KY = (by <= RY) ? RY - by : RY + K - by;
                localparam int KX = (bx <= RX) ? RX - bx : RX + K - bx;
                assign tap_of[i] = TGB'((RY < K && RX < K) ? KY * K + KX : 0);
            end
            logic [LANES*WB-1:0] wrom [1 << WAB];
            initial $readmemh(W_FILE, wrom);
            logic [WAB-1:0] wa0;
            logic [LANES*WB-1:0] wq, wq2;
            // this bank's copy of the fire pass's position: its read address, and (two stages
            // on) whether the word is this bank's
            logic [QYB-1:0] bqy;
            logic [QXB-1:0] bqx;
            logic [RB-1:0] bry, brx;
            logic [GBO-1:0] bg;
            snn_fire_pos #(.OUT_H(OUT_H), .OUT_W(OUT_W), .K(K), .GROUPS(GROUPS), .QYB(QYB),
                           .QXB(QXB), .RB(RB), .GBO(GBO)) u_fpos (
                .clk, .rst_n, .step(fire_issue), .qy(bqy), .ry(bry), .qx(bqx), .rx(brx), .g(bg));
            wire [AB-1:0] faddr = gbase_of[bg] + row_of[(QYB + 1)'(bqy)] + AB'(bqx);
            logic [RB-1:0] bry0, brx0, bry1, brx1;
            wire [AB-1:0] raddr = (state == FIRE) ? faddr : saddr;

            logic ok0, ok1, ok2;
            logic [AB-1:0] a0, a1, a2, a3;
            logic [LANES*MB-1:0] qb, qb2;
            logic sel2, sel3;            // the fire pass's word is this bank's (stages 2-3)
            always_ff @(posedge clk) begin
                a0 <= raddr;
                ok0 <= yok && xok;
                wa0 <= (WAB'(tok_g[B]) << (LBI + TGB)) | (WAB'(lsb[B]) << TGB)
                       | WAB'(ogk_of[og[B]] + tap_of[{ry, rx}]);
                wq <= wrom[wa0];
                wq2 <= wq;
                ok1 <= ok0;
                a1 <= a0;
                qb2 <= qb;
                ok2 <= ok1;
                a2 <= a1;
                {bry0, brx0, bry1, brx1} <= {bry, brx, bry0, brx0};
                sel2 <= f1 && rst_n && (int'(bry1) == by) && (int'(brx1) == bx);
                sel3 <= sel2 && rst_n;
                a3 <= a2;
            end
            assign fq_b[B] = sel2 ? qb2 : '0;

            // stage 2, scatter: add this bank's weights, from its slice of the ROM word
            logic [LANES*MB-1:0] old, sum;
            always_comb begin
                for (int l = 0; l < LANES; l++)
                    sum[l*MB +: MB] = old[l*MB +: MB] + MB'($signed(wq2[l*WB +: WB]));
            end
            wire swr = s2 && ok2;
            // one write port (clear sweep, scatter or fire pass; never two at once), so the
            // bank maps to a RAM. Its enable and address are decided a stage early (the
            // scatter's from stage 1, the fire pass's from stage 3) and registered in the RAM,
            // a copy per slice of lanes; the clear sweep's writes land a cycle after they are
            // issued (the first scatter write comes later than that)
            logic clr_q;
            always_ff @(posedge clk) clr_q <= (state == CLEAR);
            wire swr_next = s1 && ok1 && rst_n;
            wire fwr_next = sel3 && rst_n;
            wire we_next = (state == CLEAR) || swr_next || fwr_next;
            wire [AB-1:0] wa_next = (state == CLEAR) ? clr_addr : (swr_next ? a1 : a3);
            wire [LANES*MB-1:0] wd = clr_q ? '0 : (swr ? sum : fire_next);
            snn_ram #(.W(LANES * MB), .DEPTH(DEPTH), .AW(AB), .LUTRAM(BANK_LUTRAM),
                      .SLICES((BANK_LUTRAM != 0) ? RAM_SLICES : 1)) u_bank (
                .clk, .we_next, .waddr_next(wa_next), .wdata(wd), .raddr_next(raddr),
                .rdata(qb));
            if (GROUPS <= 2) begin : g_fwd
                // the scatter writes of the two accesses before this one, newest first; the
                // match is decided a stage early (registered), so stage 2 only selects
                logic h_v;          // the newest history entry is a write
                logic [AB-1:0] h_a;
                logic [LANES*MB-1:0] h_w [2];
                logic m1, m2;        // stage 2's word is h_w[0] / h_w[1]
                always_ff @(posedge clk) begin
                    h_v <= swr && rst_n;
                    h_a <= a2;
                    h_w[0] <= sum;
                    h_w[1] <= h_w[0];
                    // stage 1's access vs the writes landing at the next two edges
                    m1 <= swr && a2 == a1;
                    m2 <= h_v && h_a == a1;
                end
                assign old = m1 ? h_w[0] : (m2 ? h_w[1] : qb2);
            end else begin : g_nofwd
                assign old = qb2;
            end
        end
    end

    // ---- stage 3, fire: the selected bank's word; stage 4: fired and reset (snn_fire) ---------
    logic [LANES*MB-1:0] fq, fq3;
    logic f3, e3, last3, f4, e4;
    always_comb begin
        fq = '0;
        for (int b = 0; b < K * K; b++)
            fq = fq | fq_b[b];        // one bank's word, the others are zero
    end
    logic [YBO-1:0] oy3, oy4;
    logic [XBO-1:0] ox3, ox4;
    logic [GBO-1:0] fg3, fg4;
    always_ff @(posedge clk) begin
        fq3 <= fq;
        {f3, f4} <= {f2, f3} & {2{rst_n}};
        {e3, e4} <= {e2, e3} & {2{rst_n}};
        last3 <= last2;
        {oy3, ox3, fg3} <= {oy2, ox2, fg2};
        {oy4, ox4, fg4} <= {oy3, ox3, fg3};
    end
    snn_fire #(.LANES(LANES), .MB(MB), .TH(TH), .LEAK(LEAK)) u_fire (
        .clk, .u(fq3), .last(last3), .spikes(fire_spikes), .next(fire_next));

    // ---- stage 5: the token (none in reset: e4 / f4 of the reset cycle are no token) ----------
    always_ff @(posedge clk) begin
        tok_valid <= rst_n && (e4 || (f4 && fire_spikes != '0));
        tok_data <= {e4, fg4, oy4, ox4, e4 ? LANES'(0) : fire_spikes};
    end
endmodule
