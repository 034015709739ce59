// snn_dense_direct: the current of a first layer that is dense (or a lone readout), computed
// once per image from the pixel codes (kernel dense_direct_current). One II=1 loop over (group,
// input): LANES multipliers accumulate one group's currents over the IN_C*IN_H*IN_W inputs.
// The weight ROM holds one word of LANES weights per (group, input) in that order. PIPE = 2.
module snn_dense_direct #(
    parameter int IN_C = 1,
    parameter int IN_H = 28,
    parameter int IN_W = 28,
    parameter int LANES = 16,
    parameter int GROUPS = 1,
    parameter int WB = 4,
    parameter int CURB = 15,
    parameter W_FILE = "w.hex"
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [7:0] s_data,
    input  logic s_valid,
    output logic s_ready,
    input  logic s_last,
    output logic [LANES*CURB-1:0] cur_data,
    output logic cur_valid,
    input  logic cur_room,
    output logic flag_data,
    output logic flag_valid,
    input  logic flag_room
);
    localparam int N_IN = IN_C * IN_H * IN_W;
    localparam int WWORDS = GROUPS * N_IN;
    localparam int WAB = (WWORDS > 1) ? $clog2(WWORDS) : 1;
    localparam int CBITS = (IN_C > 1) ? $clog2(IN_C) : 1;
    localparam int YBITS = (IN_H > 1) ? $clog2(IN_H) : 1;
    localparam int XBITS = (IN_W > 1) ? $clog2(IN_W) : 1;
    localparam int GB = $clog2(GROUPS + 1);
    localparam int PB = WB + 9;

    initial begin
        if (LANES < 1 || GROUPS < 1 || WB < 2 || WB > 8 || CURB < 1 || CURB > 32)
            $fatal(1, "snn_dense_direct: inconsistent parameters");
    end

    logic frame_ready, frame_error, frame_release;
    logic [CBITS-1:0] c;
    logic [YBITS-1:0] y;
    logic [XBITS-1:0] x;
    logic [7:0] code;
    snn_frame_in #(.IN_C(IN_C), .IN_H(IN_H), .IN_W(IN_W), .CBITS(CBITS), .YBITS(YBITS),
                   .XBITS(XBITS)) u_frame (
        .clk, .rst_n, .s_data, .s_valid, .s_ready, .s_last, .frame_ready, .frame_error,
        .frame_release, .raddr({c, y, x}), .rdata(code));

    logic [LANES*WB-1:0] wrom [WWORDS];
    initial $readmemh(W_FILE, wrom);
    logic [LANES*WB-1:0] wq;
    logic [WAB-1:0] waddr;

    typedef enum logic [1:0] {WAIT_FRAME, FLAG, RUN, DONE} state_t;
    state_t state;
    logic [GB-1:0] g;
    wire first_in = (c == '0) && (y == '0) && (x == '0);
    wire last_in = (c == CBITS'(IN_C - 1)) && (y == YBITS'(IN_H - 1)) && (x == XBITS'(IN_W - 1));
    wire issue = (state == RUN) && (!last_in || cur_room);

    assign flag_data = frame_error;
    assign flag_valid = (state == FLAG) && flag_room;
    assign frame_release = (state == DONE);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= WAIT_FRAME;
            {g, c, y, x} <= '0;
            waddr <= '0;
        end else begin
            case (state)
                WAIT_FRAME: if (frame_ready) state <= FLAG;
                FLAG: if (flag_room) state <= RUN;
                RUN: if (issue) begin
                    waddr <= (waddr == WAB'(WWORDS - 1)) ? '0 : waddr + WAB'(1);
                    if (x == XBITS'(IN_W - 1)) begin
                        x <= '0;
                        if (y == YBITS'(IN_H - 1)) begin
                            y <= '0;
                            if (c == CBITS'(IN_C - 1)) begin
                                c <= '0;
                                if (g == GB'(GROUPS - 1)) begin
                                    g <= '0;
                                    state <= DONE;
                                end else
                                    g <= g + GB'(1);
                            end else
                                c <= c + CBITS'(1);
                        end else
                            y <= y + YBITS'(1);
                    end else
                        x <= x + XBITS'(1);
                end
                DONE: state <= WAIT_FRAME;
                default: state <= WAIT_FRAME;
            endcase
        end
    end

    logic v1, first1, last1;
    always_ff @(posedge clk) begin
        wq <= wrom[waddr];
        v1 <= issue;
        first1 <= first_in;
        last1 <= last_in;
    end

    logic signed [CURB-1:0] acc [LANES];
    logic v2;
    always_ff @(posedge clk) begin
        if (v1) begin
            for (int l = 0; l < LANES; l++)
                acc[l] <= (first1 ? CURB'(0) : acc[l])
                          + CURB'(PB'($signed(wq[l*WB +: WB])) * PB'($signed({1'b0, code})));
        end
        v2 <= v1 && last1 && rst_n;
    end

    always_comb begin
        for (int l = 0; l < LANES; l++)
            cur_data[l*CURB +: CURB] = acc[l];
    end
    assign cur_valid = v2;
endmodule
