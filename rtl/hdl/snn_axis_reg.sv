// snn_axis_reg: a register slice (skid buffer) on a valid/ready stream, between the result FIFO
// and the top's m_axis ports. Every output is a register and the upstream ready is one too, so
// no path runs from the stream's logic to the ports (their pins may be anywhere: out of context
// nextpnr places them freely, on a board they go to the UART bridge). One word per cycle; a
// word is on m_axis the cycle after it was accepted.
module snn_axis_reg #(
    parameter int W = 33
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic [W-1:0] s_data,
    input  logic         s_valid,
    output logic         s_ready,
    output logic [W-1:0] m_data,
    output logic         m_valid,
    input  logic         m_ready
);
    logic [W-1:0] skid;
    logic skid_v;                  // a word accepted while the output was stalled
    assign s_ready = !skid_v;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            m_valid <= 1'b0;
            skid_v <= 1'b0;
        end else if (m_ready || !m_valid) begin
            m_valid <= skid_v || s_valid;
            skid_v <= 1'b0;
        end else if (s_valid && !skid_v) begin
            skid_v <= 1'b1;
        end
    end

    always_ff @(posedge clk) begin
        if (m_ready || !m_valid)
            m_data <= skid_v ? skid : s_data;
        if (s_valid && !skid_v && m_valid && !m_ready)
            skid <= s_data;
    end
endmodule
