// snn_fire: fire, soft reset and leak of LANES membranes, shared by the fire passes of
// snn_conv_event and snn_dense_event:
//   s = U >= TH; U <- U - s * TH; U <- U - (U >>> LEAK), or 0 after the last timestep.
// Two halves around one register (timing: the compare, the reset and the leak are three carry
// chains): `spikes` and the reset membranes are registered, `next` is the leak of those, so
// both come one cycle after `u`.
module snn_fire #(
    parameter int LANES = 16,
    parameter int MB = 12,           // membrane bits
    parameter longint TH = 1,        // 1 .. 2^(MB-1) (2^31 > int)
    parameter int LEAK = 3
) (
    input  logic clk,
    input  logic [LANES*MB-1:0] u,
    input  logic last,               // the image's last timestep: store 0 for the next image
    output logic [LANES-1:0] spikes, // u's, one cycle later
    output logic [LANES*MB-1:0] next // ... and its next value, one cycle later
);
    localparam int EB = MB + 2;
    logic [LANES*EB-1:0] r;          // after the soft reset
    logic last_r;
    always_ff @(posedge clk) begin
        for (int l = 0; l < LANES; l++) begin
            logic signed [EB-1:0] w;
            w = EB'($signed(u[l*MB +: MB]));
            spikes[l] <= (w >= EB'(TH));
            r[l*EB +: EB] <= (w >= EB'(TH)) ? w - EB'(TH) : w;
        end
        last_r <= last;
    end
    always_comb begin
        for (int l = 0; l < LANES; l++) begin
            logic signed [EB-1:0] v;
            v = r[l*EB +: EB];
            // (an if, not `last ? '0 : ...`: an unsigned '0 would make the shift logical)
            if (last_r)
                v = '0;
            else
                v = v - (v >>> LEAK);
            next[l*MB +: MB] = v[MB-1:0];
        end
    end
endmodule
