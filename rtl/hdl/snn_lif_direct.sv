// snn_lif_direct: LIF neurons of the first layer over T timesteps, on its once-per-image current
// (kernel lif_direct). Timestep 0 takes each slice's current from the current FIFO as it comes
// and stores it; timesteps 1..T-1 reuse it. One pass per timestep over the
// OUT_H*OUT_W*GROUPS slices, LANES neurons per cycle, in (y, x, group) order, group fastest:
//   U <- U - (U >>> LEAK) (U = 0 at timestep 0); U <- U + I; s = U >= TH; U <- U - s * TH;
// a slice with a spike goes out as a token {eot, g, y, x, mask}; an end-of-timestep token
// closes each pass. Current and membranes live in RAMs with registered reads; no clearing is
// needed (timestep 0 ignores the stored membranes).
// Pipeline (timing: no RAM output feeds logic in the cycle it arrives): issue -> RAM read ->
// output register -> leak + current (registered) -> fire, store and token: PIPE = 4. The same
// neuron recurs one pass (N issues + the end-of-timestep cycles) later; a pass shorter than
// the pipeline gets extra end-of-timestep cycles so that its reads follow the writes
// (EOT_CYCLES, the cycle model's too).
module snn_lif_direct #(
    parameter int OUT_H = 28,
    parameter int OUT_W = 28,
    parameter int LANES = 16,
    parameter int GROUPS = 1,
    parameter int T = 8,
    parameter longint TH = 1,        // threshold on the membrane grid, 1 .. 2^(MB-1) (2^31 > int)
    parameter int LEAK = 3,          // leak shift
    parameter int CURB = 15,         // current bits
    parameter int MB = 18,           // membrane bits
    parameter int YB = 5,            // token field widths
    parameter int XB = 5,
    parameter int GB = 1
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [LANES*CURB-1:0] cur_data,
    input  logic cur_valid,
    output logic cur_ready,
    output logic [LANES+XB+YB+GB:0] tok_data,
    output logic tok_valid,
    input  logic tok_room
);
    localparam int N = OUT_H * OUT_W * GROUPS;
    localparam int NB = (N > 1) ? $clog2(N) : 1;
    localparam int TB = $clog2(T + 1);
    localparam int EB = ((MB > CURB) ? MB : CURB) + 3;  // an update before it is stored
    localparam int PIPE = 4;                             // issue -> store (and token)
    localparam int EOT_CYCLES = (N + 1 >= PIPE) ? 1 : PIPE - N;
    localparam int EWB = $clog2(EOT_CYCLES + 1);

    initial begin
        if ((1 << YB) < OUT_H || (1 << XB) < OUT_W || (1 << GB) < GROUPS || TH < 1
            || LEAK < 1 || LEAK > 15 || T < 1 || MB < 2 || MB > 32 || CURB < 1 || CURB > 32
            || TH > (longint'(1) << (MB - 1)))     // 64-bit: int 1 << 31 is negative
            $fatal(1, "snn_lif_direct: inconsistent parameters");
    end

    logic [LANES*CURB-1:0] curm [N];
    logic [LANES*MB-1:0] memm [N];

    typedef enum logic {PASS, EOT} state_t;
    state_t state;
    logic [NB-1:0] n;
    logic [TB-1:0] t;
    logic [YB-1:0] y;
    logic [XB-1:0] x;
    logic [GB-1:0] g;
    wire t0 = (t == '0);
    wire issue_pass = (state == PASS) && (!t0 || cur_valid) && tok_room;
    logic [EWB-1:0] ew;           // end-of-timestep cycles left before the token
    wire issue_eot = (state == EOT) && (ew == '0) && tok_room;
    assign cur_ready = issue_pass && t0;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= PASS;
            {n, t, y, x, g} <= '0;
            ew <= '0;
        end else if (issue_pass) begin
            if (n == NB'(N - 1)) begin
                n <= '0;
                state <= EOT;
                ew <= EWB'(EOT_CYCLES - 1);
            end else
                n <= n + NB'(1);
            if (g == GB'(GROUPS - 1)) begin
                g <= '0;
                if (x == XB'(OUT_W - 1)) begin
                    x <= '0;
                    y <= (y == YB'(OUT_H - 1)) ? '0 : y + YB'(1);
                end else
                    x <= x + XB'(1);
            end else
                g <= g + GB'(1);
        end else if (state == EOT && ew != '0) begin
            ew <= ew - EWB'(1);
        end else if (issue_eot) begin
            state <= PASS;
            t <= (t == TB'(T - 1)) ? '0 : t + TB'(1);
        end
    end

    // ---- stage 1: the RAM words arrive; stage 2: registered (the RAMs' output registers) -------
    logic [LANES*CURB-1:0] curq, curq2, inq1, inq2;
    logic [LANES*MB-1:0] memq, memq2;
    logic v1, eot1, t0_1, v2, eot2, t0_2;
    logic [NB-1:0] n1, n2;
    logic [YB-1:0] y1, y2;
    logic [XB-1:0] x1, x2;
    logic [GB-1:0] g1, g2;
    always_ff @(posedge clk) begin
        curq <= curm[n];
        memq <= memm[n];
        inq1 <= cur_data;
        v1 <= (issue_pass || issue_eot) && rst_n;
        eot1 <= issue_eot;
        t0_1 <= t0;
        {n1, y1, x1, g1} <= {n, y, x, g};
        curq2 <= curq;
        memq2 <= memq;
        inq2 <= inq1;
        v2 <= v1 && rst_n;
        eot2 <= eot1;
        t0_2 <= t0_1;
        {n2, y2, x2, g2} <= {n1, y1, x1, g1};
    end

    // ---- stage 2: leak and current, registered -------------------------------------------------
    logic [LANES*EB-1:0] u3;
    logic [LANES*CURB-1:0] inq3;
    logic v3, eot3, t0_3;
    logic [NB-1:0] n3;
    logic [YB-1:0] y3;
    logic [XB-1:0] x3;
    logic [GB-1:0] g3;
    always_ff @(posedge clk) begin
        for (int l = 0; l < LANES; l++) begin
            logic signed [EB-1:0] i, prev;
            i = EB'($signed(t0_2 ? inq2[l*CURB +: CURB] : curq2[l*CURB +: CURB]));
            if (t0_2)
                prev = '0;
            else
                prev = EB'($signed(memq2[l*MB +: MB]));
            u3[l*EB +: EB] <= prev - (prev >>> LEAK) + i;
        end
        inq3 <= inq2;
        v3 <= v2 && rst_n;
        eot3 <= eot2;
        t0_3 <= t0_2;
        {n3, y3, x3, g3} <= {n2, y2, x2, g2};
    end

    // ---- stage 3: fire, soft reset, store ------------------------------------------------------
    logic [LANES-1:0] mask;
    logic [LANES*MB-1:0] mem_next;
    always_comb begin
        for (int l = 0; l < LANES; l++) begin
            logic signed [EB-1:0] u;
            u = u3[l*EB +: EB];
            mask[l] = (u >= EB'(TH));
            if (mask[l])
                u = u - EB'(TH);
            mem_next[l*MB +: MB] = u[MB-1:0];
        end
    end

    always_ff @(posedge clk) begin
        if (v3 && !eot3) begin
            memm[n3] <= mem_next;
            if (t0_3)
                curm[n3] <= inq3;
        end
    end

    // ---- stage 4: the token (none in reset: v3 of the reset cycle is no token) ------------------
    always_ff @(posedge clk) begin
        tok_valid <= rst_n && v3 && (eot3 || mask != '0);
        tok_data <= {eot3, g3, y3, x3, eot3 ? LANES'(0) : mask};
    end
endmodule
