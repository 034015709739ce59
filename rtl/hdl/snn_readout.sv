// snn_readout: the non-spiking output layer and the result on the AXI4-Stream output (kernels
// readout_event and, with DIRECT = 1, readout_direct).
//
// Accumulators: the readout's current summed over the T timesteps. With DIRECT = 0 they are
// scattered from the input spikes (snn_scatter_dense, T timesteps); with DIRECT = 1 (a network
// that is only a readout on the codes) they are T x the once-per-image current, by shifts and
// adds. Then the result: the malformed-frame flag of the image (from the input process), the
// argmax (ties to the lowest index), the class word {error, 31-bit class}, the CLASSES
// accumulators as 32-bit two's complement words (TLAST on the last), and a clear of the
// accumulators for the next image.
module snn_readout #(
    parameter int DIRECT = 0,
    parameter int IN_G = 16,
    parameter int IN_H = 7,
    parameter int IN_W = 7,
    parameter int IN_GROUPS = 2,
    parameter int CLASSES = 10,
    parameter int LANES = 10,
    parameter int GROUPS = 1,
    parameter int T = 8,
    parameter int AB = 14,           // accumulator bits
    parameter int CURB = 12,         // current bits (DIRECT)
    parameter int WB = 4,
    parameter int YBI = 3,
    parameter int XBI = 3,
    parameter int GBI = 1,
    parameter int GBO = 1,
    parameter int IN_W_BITS = IN_G + XBI + YBI + GBI + 1,   // input word: token or current vector
    parameter W_FILE = "w.hex"
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [IN_W_BITS-1:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    input  logic flag_data,
    input  logic flag_valid,
    output logic flag_ready,
    output logic [32:0] out_data,        // {TLAST, TDATA}
    output logic out_valid,
    input  logic out_room
);
    localparam int TB = $clog2(T + 1);
    localparam int CB = $clog2(CLASSES + 1);
    localparam int LB = (LANES > 1) ? $clog2(LANES) : 1;

    initial begin
        if (CLASSES < 1 || CLASSES > GROUPS * LANES || AB < 1 || AB > 32 || T < 1
            || (1 << GBO) < GROUPS || (DIRECT != 0 && IN_W_BITS != LANES * CURB))
            $fatal(1, "snn_readout: inconsistent parameters");
    end

    // ---- accumulators: a RAM port owned by the result phase while `idle` ------------------------
    logic idle, resume, we;
    logic [GBO-1:0] raddr, waddr;
    logic [LANES*AB-1:0] q;
    if (DIRECT == 0) begin : g_event
        logic [TB-1:0] t;
        logic sidle;
        snn_scatter_dense #(.IN_G(IN_G), .IN_H(IN_H), .IN_W(IN_W), .IN_GROUPS(IN_GROUPS),
                            .LANES(LANES), .GROUPS(GROUPS), .SB(AB), .WB(WB), .YBI(YBI),
                            .XBI(XBI), .GBI(GBI), .GBO(GBO), .W_FILE(W_FILE)) u_scatter (
            .clk, .rst_n, .in_data, .in_valid, .in_ready, .idle(sidle),
            .resume(resume || (sidle && t != TB'(T - 1))), .p_addr(raddr), .p_q(q), .p_we(we),
            .p_waddr(waddr), .p_wdata('0));
        // the result waits for the last timestep; earlier timesteps resume at once
        always_ff @(posedge clk) begin
            if (!rst_n)
                t <= '0;
            else if (sidle && t != TB'(T - 1))
                t <= t + TB'(1);
            else if (resume)
                t <= '0;
        end
        assign idle = sidle && (t == TB'(T - 1));
    end else begin : g_direct
        // T x current by shifts and adds (T is a constant): no multiplier
        function automatic logic [AB-1:0] times_t(input logic signed [CURB-1:0] i);
            times_t = '0;
            for (int b = 0; b < TB; b++)
                if (T[b]) times_t = times_t + (AB'($signed(i)) << b);
        endfunction
        logic [LANES*AB-1:0] accs [1 << GBO];
        logic [LANES*AB-1:0] qd;
        logic [GBO-1:0] ra;
        logic [GBO-1:0] lg;
        logic loaded;
        assign in_ready = in_valid && !loaded;
        always_ff @(posedge clk) begin
            if (!rst_n) begin
                lg <= '0;
                loaded <= 1'b0;
            end else if (in_ready) begin
                for (int l = 0; l < LANES; l++)
                    accs[lg][l*AB +: AB] <= times_t(in_data[l*CURB +: CURB]);
                if (lg == GBO'(GROUPS - 1)) begin
                    lg <= '0;
                    loaded <= 1'b1;
                end else
                    lg <= lg + GBO'(1);
            end else if (resume)
                loaded <= 1'b0;
            ra <= raddr;
            qd <= accs[ra];
            q <= qd;                // three cycles after the address, as the scatter's port
        end
        assign idle = loaded;
        logic unused_direct;
        assign unused_direct = ^{we, waddr};
    end

    // ---- the result ---------------------------------------------------------------------------
    typedef enum logic [2:0] {WAIT, FLAG, ARGMAX, CLASS, ACCS, CLEAR} state_t;
    state_t state;
    logic [CB-1:0] i;          // class index of the issue stage
    logic [GBO-1:0] g;
    logic [LB-1:0] l;
    logic err;
    logic v1, a1, last1;       // stages 1 and 2 of the argmax / accumulator passes (the
    logic [CB-1:0] i1;         // accumulator word arrives in stage 2)
    logic [LB-1:0] l1;
    logic v2, a2, last2, v3, a3, last3, v4, a4, last4;
    logic [CB-1:0] i2, i3, i4;
    logic [LB-1:0] l2, l3;
    wire last_class = (i == CB'(CLASSES - 1));
    wire argmax_issue = (state == ARGMAX);
    wire acc_issue = (state == ACCS) && out_room;
    assign raddr = g;
    assign flag_ready = (state == FLAG) && flag_valid;
    assign resume = (state == CLEAR) && (g == GBO'(GROUPS - 1));
    assign we = (state == CLEAR);
    assign waddr = g;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= WAIT;
            {i, g, l} <= '0;
            err <= 1'b0;
        end else begin
            case (state)
                WAIT: if (idle) state <= FLAG;
                FLAG: if (flag_valid) begin
                    err <= flag_data;
                    state <= ARGMAX;
                end
                ARGMAX, ACCS: if (argmax_issue || acc_issue) begin
                    if (last_class) begin
                        {i, g, l} <= '0;
                        state <= (state == ARGMAX) ? CLASS : CLEAR;
                    end else begin
                        i <= i + CB'(1);
                        if (l == LB'(LANES - 1)) begin
                            l <= '0;
                            g <= g + GBO'(1);
                        end else
                            l <= l + LB'(1);
                    end
                end
                CLASS: if (out_room && !v1 && !v2 && !v3 && !v4) state <= ACCS;   // drained
                CLEAR: begin
                    if (g == GBO'(GROUPS - 1)) begin
                        g <= '0;
                        state <= WAIT;
                    end else
                        g <= g + GBO'(1);
                end
                default: state <= WAIT;
            endcase
        end
    end

    // stage 3: the accumulator word of class i3 (word g addressed in the issue cycle); stage 4:
    // its value (registered: the lane select), compared and sent
    always_ff @(posedge clk) begin
        v1 <= (argmax_issue || acc_issue) && rst_n;
        a1 <= argmax_issue;
        last1 <= last_class;
        i1 <= i;
        l1 <= l;
        {v2, v3, v4} <= {v1, v2, v3} & {3{rst_n}};
        {a2, a3, a4} <= {a1, a2, a3};
        {last2, last3, last4} <= {last1, last2, last3};
        {i2, i3, i4} <= {i1, i2, i3};
        {l2, l3} <= {l1, l2};
    end
    logic signed [AB-1:0] v, v4q;
    always_comb begin
        v = '0;
        for (int k = 0; k < LANES; k++)
            if (l3 == LB'(k)) v = $signed(q[k*AB +: AB]);
    end
    always_ff @(posedge clk)
        v4q <= v;
    logic signed [AB-1:0] best;
    logic [CB-1:0] cls;
    always_ff @(posedge clk) begin
        if (v4 && a4 && (i4 == '0 || v4q > best)) begin   // strict: ties keep the lowest index
            best <= v4q;
            cls <= i4;
        end
    end

    // the output words: class word (from CLASS), accumulators (stage 4 of ACCS)
    always_ff @(posedge clk) begin
        out_valid <= rst_n && ((state == CLASS && out_room && !v1 && !v2 && !v3 && !v4)
                               || (v4 && !a4));
        if (state == CLASS)
            out_data <= {1'b0, err, 31'(cls)};
        else
            out_data <= {last4, 32'($signed(v4q))};
    end
endmodule
