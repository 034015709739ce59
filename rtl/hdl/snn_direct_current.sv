// snn_direct_current: the first layer's input current, computed once per image from the 8-bit
// pixel codes (kernels conv_direct_current and dense_direct_current of core/hw/kernels/direct.py).
//
// A convolution with a KH x KW kernel: one II=1 loop over (position, output group, tap), kx
// fastest, in which LANES multipliers (code x weight: the design's only multipliers) accumulate
// one slice's currents over IN_C*KH*KW taps and write them as one word per slice to the current
// FIFO. A dense first layer is the same loop with the kernel covering the whole image (KH = IN_H,
// KW = IN_W, PAD = 0, one position). Zero padding is a bounds check on the frame coordinates.
// The weight ROM holds one word of LANES weights per (group, tap), in that order ($readmemh
// W_FILE, laid out by rtl/writer.py); its address is a counter.
// Pipeline: issue (RAM/ROM read) -> RAM/ROM word -> registered again (no block-RAM output drives
// logic) -> multiplier input registers (the zero mask of padding taps) -> product register ->
// accumulate -> write: PIPE = 5 (MULT18X18D with input and output registers). The
// malformed-frame flag of each image goes to the flag FIFO before its compute.
module snn_direct_current #(
    parameter int IN_C = 1,
    parameter int IN_H = 28,
    parameter int IN_W = 28,
    parameter int OUT_H = 28,
    parameter int OUT_W = 28,
    parameter int KH = 3,
    parameter int KW = 3,
    parameter int PAD = 1,
    parameter int LANES = 16,
    parameter int GROUPS = 1,
    parameter int WB = 4,           // weight bits (signed)
    parameter int CURB = 15,        // current bits (signed)
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
    localparam int TAPS = IN_C * KH * KW;
    localparam int WWORDS = GROUPS * TAPS;
    localparam int WAB = (WWORDS > 1) ? $clog2(WWORDS) : 1;
    localparam int CBITS = (IN_C > 1) ? $clog2(IN_C) : 1;
    localparam int YBITS = (IN_H > 1) ? $clog2(IN_H) : 1;
    localparam int XBITS = (IN_W > 1) ? $clog2(IN_W) : 1;
    localparam int OYB = $clog2(OUT_H + 1);
    localparam int OXB = $clog2(OUT_W + 1);
    localparam int GB = $clog2(GROUPS + 1);
    localparam int KYB = $clog2(KH + 1);
    localparam int KXB = $clog2(KW + 1);
    localparam int SB = ((OYB > OXB) ? OYB : OXB) + ((KYB > KXB) ? KYB : KXB) + 2;
    localparam int PB = WB + 9;         // product: signed weight x unsigned 8-bit code

    initial begin
        if (OUT_H != IN_H + 2 * PAD - KH + 1 || OUT_W != IN_W + 2 * PAD - KW + 1 || LANES < 1
            || GROUPS < 1 || WB < 2 || WB > 8 || CURB < 1 || CURB > 32)
            $fatal(1, "snn_direct_current: inconsistent parameters");
    end

    // ---- the frame ------------------------------------------------------------------------
    logic frame_ready, frame_error, frame_release;
    logic [CBITS+YBITS+XBITS-1:0] raddr;
    logic [7:0] code;
    snn_frame_in #(.IN_C(IN_C), .IN_H(IN_H), .IN_W(IN_W), .CBITS(CBITS), .YBITS(YBITS),
                   .XBITS(XBITS)) u_frame (
        .clk, .rst_n, .s_data, .s_valid, .s_ready, .s_last, .frame_ready, .frame_error,
        .frame_release, .raddr, .rdata(code));

    // ---- weights ---------------------------------------------------------------------------
    logic [LANES*WB-1:0] wrom [WWORDS];
    initial $readmemh(W_FILE, wrom);
    logic [LANES*WB-1:0] wq;
    logic [WAB-1:0] waddr;

    // ---- loop counters (kx fastest, then ky, c, group, ox, oy) ------------------------------
    typedef enum logic [1:0] {WAIT_FRAME, FLAG, RUN, DONE} state_t;
    state_t state;
    logic [OYB-1:0] oy;
    logic [OXB-1:0] ox;
    logic [GB-1:0] g;
    logic [CBITS-1:0] c;
    logic [KYB-1:0] ky;
    logic [KXB-1:0] kx;
    wire last_tap = (c == CBITS'(IN_C - 1)) && (ky == KYB'(KH - 1)) && (kx == KXB'(KW - 1));
    wire last_iter = last_tap && (g == GB'(GROUPS - 1)) && (ox == OXB'(OUT_W - 1))
                     && (oy == OYB'(OUT_H - 1));
    wire first_tap = (c == '0) && (ky == '0) && (kx == '0);
    wire issue = (state == RUN) && (!last_tap || cur_room);

    // frame coordinates of this tap: iy = oy + ky - PAD (signed), zero outside the image
    wire signed [SB-1:0] iy = $signed(SB'(oy)) + $signed(SB'(ky)) - SB'(PAD);
    wire signed [SB-1:0] ix = $signed(SB'(ox)) + $signed(SB'(kx)) - SB'(PAD);
    wire in_img = (iy >= 0) && (iy < SB'(IN_H)) && (ix >= 0) && (ix < SB'(IN_W));
    assign raddr = {c, iy[YBITS-1:0], ix[XBITS-1:0]};

    assign flag_data = frame_error;
    assign flag_valid = (state == FLAG) && flag_room;
    assign frame_release = (state == DONE);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= WAIT_FRAME;
            {oy, ox, g, c, ky, kx} <= '0;
            waddr <= '0;
        end else begin
            case (state)
                WAIT_FRAME: if (frame_ready) state <= FLAG;
                FLAG: if (flag_room) state <= RUN;
                RUN: if (issue) begin
                    waddr <= (waddr == WAB'(WWORDS - 1)) ? '0 : waddr + WAB'(1);
                    if (kx == KXB'(KW - 1)) begin
                        kx <= '0;
                        if (ky == KYB'(KH - 1)) begin
                            ky <= '0;
                            if (c == CBITS'(IN_C - 1)) begin
                                c <= '0;
                                if (g == GB'(GROUPS - 1)) begin
                                    g <= '0;
                                    if (ox == OXB'(OUT_W - 1)) begin
                                        ox <= '0;
                                        oy <= (oy == OYB'(OUT_H - 1)) ? '0 : oy + OYB'(1);
                                    end else
                                        ox <= ox + OXB'(1);
                                end else
                                    g <= g + GB'(1);
                            end else
                                c <= c + CBITS'(1);
                        end else
                            ky <= ky + KYB'(1);
                    end else
                        kx <= kx + KXB'(1);
                    if (last_iter)
                        state <= DONE;
                end
                DONE: state <= WAIT_FRAME;   // frame_release: the next frame may be read
                default: state <= WAIT_FRAME;
            endcase
        end
    end

    // ---- stage 1: ROM word and code arrive, into the multipliers' input registers ------------
    logic v1, in_img1, first1, last1;
    always_ff @(posedge clk) begin
        wq <= wrom[waddr];
        v1 <= issue && rst_n;
        in_img1 <= in_img;
        first1 <= first_tap;
        last1 <= last_tap;
    end

    logic [LANES*WB-1:0] wq_r;
    logic [7:0] code_r;
    logic v1r, in_img1r, first1r, last1r;
    always_ff @(posedge clk) begin
        wq_r <= wq;
        code_r <= code;
        v1r <= v1 && rst_n;
        in_img1r <= in_img1;
        first1r <= first1;
        last1r <= last1;
    end

    logic signed [WB-1:0] wm [LANES];
    logic signed [8:0] cm;
    logic v2, first2, last2;
    always_ff @(posedge clk) begin
        for (int l = 0; l < LANES; l++)
            wm[l] <= $signed(wq_r[l*WB +: WB]);
        cm <= {1'b0, in_img1r ? code_r : 8'd0};
        v2 <= v1r && rst_n;
        first2 <= first1r;
        last2 <= last1r;
    end

    // ---- stage 2: products (the multipliers' output registers) ------------------------------
    logic signed [PB-1:0] prod [LANES];
    logic v3, first3, last3;
    always_ff @(posedge clk) begin
        for (int l = 0; l < LANES; l++)
            prod[l] <= PB'(wm[l]) * PB'(cm);
        v3 <= v2 && rst_n;
        first3 <= first2;
        last3 <= last2;
    end

    // ---- stage 3: accumulate -------------------------------------------------------------------
    logic signed [CURB-1:0] acc [LANES];
    logic v4;
    always_ff @(posedge clk) begin
        if (v3) begin
            for (int l = 0; l < LANES; l++)
                // every partial sum is the current of a sub-window: inside CURB bits
                acc[l] <= (first3 ? CURB'(0) : acc[l]) + CURB'(prod[l]);
        end
        v4 <= v3 && last3 && rst_n;
    end

    // ---- stage 4: the slice's currents to the FIFO -----------------------------------------
    always_comb begin
        for (int l = 0; l < LANES; l++)
            cur_data[l*CURB +: CURB] = acc[l];
    end
    assign cur_valid = v4;
endmodule
