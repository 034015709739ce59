// dut_top: the network top as a token stream for the stream harness (rtl/hdl/tb/tb_stream.sv):
// in_data = {TLAST, TDATA} of s_axis, out_data = {TLAST, TDATA} of m_axis.
module dut_top #(
    parameter int IN_W = 9,
    parameter int OUT_W = 33
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [IN_W-1:0] in_data,
    input  logic in_valid,
    output logic in_ready,
    output logic [OUT_W-1:0] out_data,
    output logic out_valid,
    input  logic out_ready
);
    initial begin
        if (IN_W != 9 || OUT_W != 33)
            $fatal(1, "dut_top: hire_snn streams are 9 bits in, 33 bits out");
    end
    logic [3:0] keep, strb;
    logic unused_ok;
    assign unused_ok = ^{keep, strb};
    hire_snn u_dut (
        .ap_clk(clk), .ap_rst_n(rst_n),
        .s_axis_TDATA(in_data[7:0]), .s_axis_TVALID(in_valid), .s_axis_TREADY(in_ready),
        .s_axis_TLAST(in_data[8]), .s_axis_TKEEP(1'b1), .s_axis_TSTRB(1'b1),
        .m_axis_TDATA(out_data[31:0]), .m_axis_TVALID(out_valid), .m_axis_TREADY(out_ready),
        .m_axis_TLAST(out_data[32]), .m_axis_TKEEP(keep), .m_axis_TSTRB(strb));
endmodule
