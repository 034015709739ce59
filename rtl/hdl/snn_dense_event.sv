// snn_dense_event: a spike-driven dense + LIF layer (kernel dense_event): each timestep, the
// scatter of its input spikes (snn_scatter_dense), then a fire pass over the GROUPS words:
// fire, soft reset, store leak(U) for the next timestep (0 after the last one), send non-empty
// slices {eot = 0, g, y = 0, x = 0, mask}, then the end-of-timestep token. PIPE = 2.
module snn_dense_event #(
    parameter int IN_G = 16,
    parameter int IN_H = 7,
    parameter int IN_W = 7,
    parameter int IN_GROUPS = 1,
    parameter int LANES = 16,
    parameter int GROUPS = 1,
    parameter int T = 8,
    parameter int TH = 1,
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
        if (TH < 1 || LEAK < 1 || LEAK > 15 || T < 1)
            $fatal(1, "snn_dense_event: inconsistent parameters");
    end

    logic idle, resume, we;
    logic [GBO-1:0] g, g1;
    logic [LANES*MB-1:0] q, next;
    snn_scatter_dense #(.IN_G(IN_G), .IN_H(IN_H), .IN_W(IN_W), .IN_GROUPS(IN_GROUPS),
                        .LANES(LANES), .GROUPS(GROUPS), .SB(MB), .WB(WB), .YBI(YBI), .XBI(XBI),
                        .GBI(GBI), .GBO(GBO), .W_FILE(W_FILE)) u_scatter (
        .clk, .rst_n, .in_data, .in_valid, .in_ready, .idle, .resume, .p_addr(g), .p_q(q),
        .p_we(we), .p_waddr(g1), .p_wdata(next));

    // fire pass: issue (read word g) -> update and write back -> token
    typedef enum logic [1:0] {WAIT, FIRE, FIRE_EOT} state_t;
    state_t state;
    logic [TB-1:0] t;
    wire fire_issue = (state == FIRE) && tok_room;
    wire eot_issue = (state == FIRE_EOT) && tok_room;
    assign resume = eot_issue;

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
                    state <= WAIT;
                end
                default: state <= WAIT;
            endcase
        end
    end

    logic f1, e1, last1;
    always_ff @(posedge clk) begin
        f1 <= fire_issue && rst_n;
        e1 <= eot_issue && rst_n;
        last1 <= (t == TB'(T - 1));
        g1 <= g;
    end

    logic [LANES-1:0] spikes;
    snn_fire #(.LANES(LANES), .MB(MB), .TH(TH), .LEAK(LEAK)) u_fire (
        .u(q), .last(last1), .spikes, .next);
    assign we = f1;

    always_ff @(posedge clk) begin
        tok_valid <= e1 || (f1 && spikes != '0);
        tok_data <= {e1, g1, 1'b0, 1'b0, e1 ? LANES'(0) : spikes};
    end
endmodule
