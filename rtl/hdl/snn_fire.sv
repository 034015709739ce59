// snn_fire: fire, soft reset and leak of LANES membranes (combinational), shared by the fire
// passes of snn_conv_event and snn_dense_event:
//   s = U >= TH; U <- U - s * TH; U <- U - (U >>> LEAK), or 0 after the last timestep.
module snn_fire #(
    parameter int LANES = 16,
    parameter int MB = 12,           // membrane bits
    parameter int TH = 1,
    parameter int LEAK = 3
) (
    input  logic [LANES*MB-1:0] u,
    input  logic last,               // the image's last timestep: store 0 for the next image
    output logic [LANES-1:0] spikes,
    output logic [LANES*MB-1:0] next
);
    localparam int EB = MB + 2;
    always_comb begin
        for (int l = 0; l < LANES; l++) begin
            logic signed [EB-1:0] w, v;
            w = EB'($signed(u[l*MB +: MB]));
            spikes[l] = (w >= EB'(TH));
            v = spikes[l] ? w - EB'(TH) : w;
            // (an if, not `last ? '0 : ...`: an unsigned '0 would make the shift logical)
            if (last)
                v = '0;
            else
                v = v - (v >>> LEAK);
            next[l*MB +: MB] = v[MB-1:0];
        end
    end
endmodule
