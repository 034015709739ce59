// snn_fire_pos: the position of snn_conv_event's fire pass in its membrane banks: output row and
// column as quotient and remainder by K (oy / K, oy mod K, ox / K, ox mod K) and the output
// group, group fastest, stepped once per fire issue and back to the first word after the last.
// One per bank: each bank's read address and select come from a counter beside it, not from
// one register routed to all K x K banks (that fan-out was the default network's routed
// critical path, 2.1 ns of logic and 8.1 ns of routing).
module snn_fire_pos #(
    parameter int OUT_H = 14,
    parameter int OUT_W = 14,
    parameter int K = 3,
    parameter int GROUPS = 1,
    parameter int QYB = 1,           // field widths
    parameter int QXB = 1,
    parameter int RB = 1,
    parameter int GBO = 1
) (
    input  logic clk,
    input  logic rst_n,
    input  logic step,
    output logic [QYB-1:0] qy,
    output logic [RB-1:0] ry,
    output logic [QXB-1:0] qx,
    output logic [RB-1:0] rx,
    output logic [GBO-1:0] g
);
    localparam int LAST_QY = (OUT_H - 1) / K, LAST_RY = (OUT_H - 1) % K;
    localparam int LAST_QX = (OUT_W - 1) / K, LAST_RX = (OUT_W - 1) % K;

    // keep on the process: opt_merge would fold the layer's identical copies back into one
    (* keep *) always_ff @(posedge clk) begin
        if (!rst_n) begin
            {qy, ry, qx, rx, g} <= '0;
        end else if (step) begin
            if (g != GBO'(GROUPS - 1))
                g <= g + GBO'(1);
            else begin
                g <= '0;
                if (qx != QXB'(LAST_QX) || rx != RB'(LAST_RX)) begin
                    if (rx == RB'(K - 1)) begin
                        rx <= '0;
                        qx <= qx + QXB'(1);
                    end else
                        rx <= rx + RB'(1);
                end else begin
                    {qx, rx} <= '0;
                    if (qy == QYB'(LAST_QY) && ry == RB'(LAST_RY))
                        {qy, ry} <= '0;
                    else if (ry == RB'(K - 1)) begin
                        ry <= '0;
                        qy <= qy + QYB'(1);
                    end else
                        ry <= ry + RB'(1);
                end
            end
        end
    end
endmodule
