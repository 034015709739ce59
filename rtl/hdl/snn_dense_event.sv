// snn_dense_event: a spike-driven dense + LIF layer (kernel dense_event): each timestep, the
// scatter of its input spikes (snn_scatter_dense), then a fire pass over the GROUPS words:
// fire, soft reset, store leak(U) for the next timestep (0 after the last one), send non-empty
// slices {eot = 0, g, y = 0, x = 0, mask}, then the end-of-timestep token. The state word
// arrives three cycles after its read (registered address, RAM, output register), snn_fire
// takes one more: the write and the token four after the issue, PIPE = 5; the scatter resumes
// one cycle after the end-of-timestep token (DRAIN), when the pass's last write has landed.
module snn_dense_event #(
    parameter int IN_G = 16,
    parameter int IN_H = 7,
    parameter int IN_W = 7,
    parameter int IN_GROUPS = 1,
    parameter int LANES = 16,
    parameter int GROUPS = 1,
    parameter int T = 8,
    parameter longint TH = 1,        // 1 .. 2^(MB-1) (2^31 > int)
    parameter int LEAK = 3,
    parameter int MB = 12,
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
    output logic [LANES+GBO+2:0] tok_data,      // {eot, g, y (1 bit), x (1 bit), mask}
    output logic tok_valid,
    input  logic tok_room
);
    localparam int TB = $clog2(T + 1);
    initial begin
        if (TH < 1 || LEAK < 1 || LEAK > 15 || T < 1 || MB < 2 || MB > 32
            || TH > (longint'(1) << (MB - 1)))
            $fatal(1, "snn_dense_event: inconsistent parameters");
    end

    logic idle, resume, we;
    logic [GBO-1:0] g, g1;
    logic [LANES*MB-1:0] q, next;
    snn_scatter_dense #(.IN_G(IN_G), .IN_H(IN_H), .IN_W(IN_W), .IN_GROUPS(IN_GROUPS),
                        .LANES(LANES), .GROUPS(GROUPS), .SB(MB), .WB(WB), .YBI(YBI), .XBI(XBI),
                        .GBI(GBI), .GBO(GBO), .W_FILE(W_FILE)) u_scatter (
        .clk, .rst_n, .in_data, .in_valid, .in_ready, .idle, .resume, .p_addr(g), .p_q(q),
        .p_we(we), .p_waddr(g4), .p_wdata(next));

    // fire pass: issue (read word g) -> update and write back -> token
    typedef enum logic [1:0] {WAIT, FIRE, FIRE_EOT, DRAIN} state_t;
    state_t state;
    logic [TB-1:0] t;
    wire fire_issue = (state == FIRE) && tok_room;
    wire eot_issue = (state == FIRE_EOT) && tok_room;
    assign resume = (state == DRAIN);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= WAIT;
            g <= '0;
            t <= '0;
        end else begin
            case (state)
                WAIT: if (idle) state <= FIRE;
                FIRE: if (fire_issue) begin
                    if (g == GBO'(GROUPS - 1)) begin
                        g <= '0;
                        state <= FIRE_EOT;
                    end else
                        g <= g + GBO'(1);
                end
                FIRE_EOT: if (eot_issue) begin
                    t <= (t == TB'(T - 1)) ? '0 : t + TB'(1);
                    state <= DRAIN;
                end
                DRAIN: state <= WAIT;
                default: state <= WAIT;
            endcase
        end
    end

    logic f1, e1, last1, f2, e2, last2, f3, e3, last3, f4, e4;
    logic [GBO-1:0] g2, g3, g4;
    always_ff @(posedge clk) begin
        f1 <= fire_issue && rst_n;
        e1 <= eot_issue && rst_n;
        last1 <= (t == TB'(T - 1));
        g1 <= g;
        {f2, f3, f4} <= {f1, f2, f3} & {3{rst_n}};
        {e2, e3, e4} <= {e1, e2, e3} & {3{rst_n}};
        {last2, last3} <= {last1, last2};
        {g2, g3, g4} <= {g1, g2, g3};
    end

    logic [LANES-1:0] spikes;
    snn_fire #(.LANES(LANES), .MB(MB), .TH(TH), .LEAK(LEAK)) u_fire (
        .clk, .u(q), .last(last3), .spikes, .next);
    assign we = f4;

    always_ff @(posedge clk) begin
        tok_valid <= rst_n && (e4 || (f4 && spikes != '0));   // none in reset
        tok_data <= {e4, g4, 1'b0, 1'b0, e4 ? LANES'(0) : spikes};
    end
endmodule
