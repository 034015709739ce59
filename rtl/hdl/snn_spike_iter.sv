// snn_spike_iter: walks the spikes of a timestep's input slices for a scatter, one (spike,
// output group) per cycle, shared by snn_conv_event and snn_scatter_dense.
//
// It holds the current token; each cycle with `enable` it issues the lowest remaining spike of
// the slice for output group og (0..GROUPS-1), then the next spike, and fetches the next token
// in the cycle that finishes this one (slices are never empty), so a timestep takes exactly
// spikes x GROUPS cycles. On the end-of-timestep token it raises `at_eot` for one cycle, drops
// the token and fetches nothing more until the parent enables it again.
// The token's slice group, row and column, its spike mask (so the spike's channel, lsb) and
// the output group come in COPIES identical registers: a parent that decodes them in several
// places (snn_conv_event: one address per membrane bank) gives each its own copy, placed
// beside it, instead of routing one register across the die (the default network's routed
// critical paths: the row, 9.2 ns of routing; then the group; then the iterator's own group
// into the clock enable of the one mask that fed every bank's weight address, 10.4 ns).
// The iterator's own mask and group (rem, ogc) only decide when to fetch the next token.
module snn_spike_iter #(
    parameter int IN_G = 16,         // input slice width
    parameter int YBI = 4,
    parameter int XBI = 4,
    parameter int GBI = 1,
    parameter int GROUPS = 1,        // output groups each spike updates
    parameter int GBO = 1,
    parameter int COPIES = 1         // copies of y, x and og (kept apart in synthesis)
) (
    input  logic clk,
    input  logic rst_n,
    input  logic enable,
    input  logic [IN_G+XBI+YBI+GBI:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    output logic issue,                                  // a (spike, group) update this cycle
    output logic [COPIES-1:0][GBI-1:0] g,                // ... its slice's group
    output logic [COPIES-1:0][((IN_G > 1) ? $clog2(IN_G) : 1)-1:0] lsb,  // ... its channel
    output logic [COPIES-1:0][YBI-1:0] y,
    output logic [COPIES-1:0][XBI-1:0] x,
    output logic [COPIES-1:0][GBO-1:0] og,               // ... the output group it updates
    output logic at_eot                                  // the end-of-timestep token is here
);
    localparam int LBI = (IN_G > 1) ? $clog2(IN_G) : 1;
    logic have, eot;
    logic [GBO-1:0] ogc;         // the output group (the iterator's own copy)
    logic [IN_G-1:0] rem;
    logic single;                // rem has one spike left (registered: in_ready stays short)
    function automatic logic one_bit(input logic [IN_G-1:0] m);
        one_bit = (m != '0) && ((m & (m - IN_G'(1))) == '0);
    endfunction

    assign issue = enable && have && !eot;
    assign at_eot = enable && have && eot;
    wire last_of_token = (ogc == GBO'(GROUPS - 1)) && single;
    assign in_ready = enable && (!have || (issue && last_of_token)) && in_valid;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            have <= 1'b0;
            ogc <= '0;
        end else if (in_ready) begin
            have <= 1'b1;
            eot <= in_data[IN_G+XBI+YBI+GBI];
            rem <= in_data[IN_G-1:0];
            single <= one_bit(in_data[IN_G-1:0]);
            ogc <= '0;
        end else if (issue) begin
            if (ogc == GBO'(GROUPS - 1)) begin
                ogc <= '0;
                rem <= rem & (rem - IN_G'(1));
                single <= one_bit(rem & (rem - IN_G'(1)));
                if (last_of_token)
                    have <= 1'b0;
            end else
                ogc <= ogc + GBO'(1);
        end else if (at_eot)
            have <= 1'b0;
    end
    for (genvar i = 0; i < COPIES; i++) begin : g_copy
        // keep on the processes: opt_merge would fold the identical copies back into one
        (* keep *) always_ff @(posedge clk)
            if (rst_n && in_ready)
                {g[i], y[i], x[i]} <= in_data[IN_G +: GBI+YBI+XBI];
        (* keep *) always_ff @(posedge clk)
            if (!rst_n || in_ready)
                og[i] <= '0;
            else if (issue)
                og[i] <= (og[i] == GBO'(GROUPS - 1)) ? '0 : og[i] + GBO'(1);
        // the mask steps with this copy's own group, as rem does with ogc (og[i] == ogc)
        logic [IN_G-1:0] remc;
        (* keep *) always_ff @(posedge clk)
            if (rst_n && in_ready)
                remc <= in_data[IN_G-1:0];
            else if (rst_n && issue && og[i] == GBO'(GROUPS - 1))
                remc <= remc & (remc - IN_G'(1));
        always_comb begin
            lsb[i] = '0;
            for (int b = IN_G - 1; b >= 0; b--)
                if (remc[b]) lsb[i] = LBI'(b);
        end
    end
endmodule
