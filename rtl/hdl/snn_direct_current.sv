// snn_direct_current: the first layer's input current, computed once per image from the 8-bit
// pixel codes (kernels conv_direct_current and dense_direct_current of core/hw/kernels/direct.py).
//
// A convolution with a KH x KW kernel: one II=1 loop over (position, output group, input
// channel, tap row block, tap column block), in which LANES x TY x TX multipliers (code x
// weight: the design's only multipliers) take TY x TX taps of a slice per cycle (TY in {1, KH},
// TX in {1, KW}: one tap, a kernel row or column, or the whole window), sum them and accumulate
// the slice's currents over IN_C * KH * KW / (TY * TX) cycles, then write them as one word per
// slice to the current FIFO. A dense first layer is the same loop with the kernel covering the
// whole image (KH = IN_H, KW = IN_W, PAD = 0, one position, TY = TX = 1).
// The frame sits in TY x TX banks (snn_frame_in: padded row py to bank row py mod TY), so the
// TY x TX taps of one cycle lie in distinct banks: at output row oy = TY * qy + ry, tap row ky's
// padded row oy + ky is in bank row (ry + ky) mod TY at row qy + (bank row < ry); the banks'
// codes are rotated back into tap order after their output register. Zero padding is a bounds
// check on the frame coordinates of each tap (the border is never written). The frame streams
// in while the loop runs: output row oy issues once the rows it reads (up to oy + KH - 1 - PAD,
// of the last channel) are written (snn_frame_in's rows_ready), so the compute trails the input
// by about KH - PAD rows instead of a whole frame.
// The weight ROM holds one word of LANES x TY x TX weights per (group, channel, tap block), in
// that order ($readmemh W_FILE, laid out by rtl/writer.py); its address is a counter.
// Pipeline: issue (RAM/ROM read) -> RAM/ROM word -> registered again, codes in tap order and
// padding taps masked to code 0 (no block-RAM output drives logic) -> multiplier operand
// registers (each multiplier its own copy of the code) -> product register (both in
// snn_mul_reg: on ECP5 MULT18X18D's own) -> the sum of each tap row's TX products ->
// accumulate the TY row sums -> write: PIPE = 6.
// The malformed-frame flag of each image goes to the flag FIFO after its last issue, once the
// frame (and so its TLAST) is in; then the frame is released and the next one read.
module snn_direct_current #(
    parameter int IN_C = 1,
    parameter int IN_H = 28,
    parameter int IN_W = 28,
    parameter int OUT_H = 28,
    parameter int OUT_W = 28,
    parameter int KH = 3,
    parameter int KW = 3,
    parameter int PAD = 1,
    parameter int TY = 1,           // taps per cycle: TY rows x TX columns of the kernel
    parameter int TX = 1,
    parameter int LANES = 16,
    parameter int GROUPS = 1,
    parameter int WB = 4,           // weight bits (signed)
    parameter int CURB = 15,        // current bits (signed)
    parameter int FRAME_LUTRAM = 0, // 1: the frame banks in distributed RAM
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
    localparam int TP = TY * TX;                 // taps per cycle
    localparam int KYN = KH / TY;                // tap row / column blocks
    localparam int KXN = KW / TX;
    localparam int WWORDS = GROUPS * IN_C * KYN * KXN;
    localparam int WAB = (WWORDS > 1) ? $clog2(WWORDS) : 1;
    localparam int CBITS = (IN_C > 1) ? $clog2(IN_C) : 1;
    // a bank's row / column field: the unpadded frame (one bank) or padded rows / TY
    localparam int QH = (TY > 1) ? (IN_H + 2 * PAD + TY - 1) / TY : IN_H;
    localparam int QW = (TX > 1) ? (IN_W + 2 * PAD + TX - 1) / TX : IN_W;
    localparam int YBITS = (QH > 1) ? $clog2(QH) : 1;
    localparam int XBITS = (QW > 1) ? $clog2(QW) : 1;
    localparam int AB = ((IN_C > 1) ? CBITS : 0) + YBITS + XBITS;   // a bank's address
    localparam int OYB = $clog2(OUT_H + 1);
    localparam int OXB = $clog2(OUT_W + 1);
    localparam int GB = $clog2(GROUPS + 1);
    localparam int KYB = $clog2(KYN + 1);
    localparam int KXB = $clog2(KXN + 1);
    localparam int RYB = (TY > 1) ? $clog2(TY) : 1;
    localparam int RXB = (TX > 1) ? $clog2(TX) : 1;
    localparam int SB = ((OYB > OXB) ? OYB : OXB) + $clog2(((KH > KW) ? KH : KW) + 1) + 2;
    localparam int PB = WB + 9;         // product: signed weight x unsigned 8-bit code
    localparam int RSB = PB + ((TX > 1) ? $clog2(TX) : 0);   // a tap row's sum

    initial begin
        if (OUT_H != IN_H + 2 * PAD - KH + 1 || OUT_W != IN_W + 2 * PAD - KW + 1 || LANES < 1
            || GROUPS < 1 || WB < 2 || WB > 8 || CURB < 1 || CURB > 32
            || !(TY == 1 || TY == KH) || !(TX == 1 || TX == KW))
            $fatal(1, "snn_direct_current: inconsistent parameters");
    end

    // ---- the frame ------------------------------------------------------------------------
    logic frame_ready, frame_error, frame_release;
    logic [$clog2(IN_H + 1)-1:0] rows_ready;
    logic [TP*AB-1:0] raddr;
    logic [TP*8-1:0] bank_code;
    snn_frame_in #(.IN_C(IN_C), .IN_H(IN_H), .IN_W(IN_W), .PAD(PAD), .TY(TY), .TX(TX),
                   .CBITS(CBITS), .YBITS(YBITS), .XBITS(XBITS), .LUTRAM(FRAME_LUTRAM)) u_frame (
        .clk, .rst_n, .s_data, .s_valid, .s_ready, .s_last, .frame_ready, .frame_error,
        .rows_ready, .frame_release, .raddr, .rdata(bank_code));

    // ---- weights ---------------------------------------------------------------------------
    logic [LANES*TP*WB-1:0] wrom [WWORDS];
    initial $readmemh(W_FILE, wrom);
    logic [LANES*TP*WB-1:0] wq;
    logic [WAB-1:0] waddr;

    // ---- loop counters (tap column block fastest, then row block, c, group, ox, oy) --------
    typedef enum logic [1:0] {RUN, FLAG, DONE} state_t;
    state_t state;
    logic [OYB-1:0] oy;
    logic [OXB-1:0] ox;
    logic [GB-1:0] g;
    logic [CBITS-1:0] c;
    logic [KYB-1:0] kyi;
    logic [KXB-1:0] kxi;
    wire last_tap = (c == CBITS'(IN_C - 1)) && (kyi == KYB'(KYN - 1)) && (kxi == KXB'(KXN - 1));
    wire last_iter = last_tap && (g == GB'(GROUPS - 1)) && (ox == OXB'(OUT_W - 1))
                     && (oy == OYB'(OUT_H - 1));
    wire first_tap = (c == '0) && (kyi == '0) && (kxi == '0);
    // rows of the last channel output row oy reads: min(IN_H, oy + KH - PAD), a constant table
    localparam int RRB = $clog2(IN_H + 1);
    logic [RRB-1:0] need_of [1 << OYB];
    for (genvar i = 0; i < (1 << OYB); i++) begin : g_need
        localparam int NEED = (i + KH - PAD < IN_H) ? i + KH - PAD : IN_H;
        assign need_of[i] = RRB'((NEED > 0) ? NEED : 0);
    end
    wire rows_in = rows_ready >= need_of[oy];
    wire issue = (state == RUN) && rows_in && (!last_tap || cur_room);

    // Each bank's address and each tap's bounds check. Banked (TY = KH): tap row j's padded row
    // oy + j is in bank row (ry + j) mod TY; bank row j holds row qy (+1 for the bank rows
    // before the remainder ry), oy = TY * qy + ry from constant tables. One bank row (TY = 1):
    // the tap row kyi's unpadded row oy + kyi - PAD. Columns likewise. A tap outside the image
    // reads any word and is masked to code 0.
    logic [YBITS-1:0] brow [TY];
    logic [XBITS-1:0] bcol [TX];
    logic [TY-1:0] row_ok;
    logic [TX-1:0] col_ok;
    logic [RYB-1:0] ry;
    logic [RXB-1:0] rx;
    if (TY > 1) begin : g_ybanks
        logic [YBITS-1:0] qy_of [1 << OYB];
        logic [RYB-1:0] ry_of [1 << OYB];
        for (genvar i = 0; i < (1 << OYB); i++) begin : g_tab
            assign qy_of[i] = YBITS'(i / TY);
            assign ry_of[i] = RYB'(i % TY);
        end
        assign ry = ry_of[oy];
        for (genvar j = 0; j < TY; j++) begin : g_row
            wire signed [SB-1:0] iy = $signed(SB'(oy)) + SB'(j) - SB'(PAD);
            assign row_ok[j] = (iy >= 0) && (iy < SB'(IN_H));
            assign brow[j] = qy_of[oy] + YBITS'(RYB'(j) < ry);
        end
    end else begin : g_yone
        wire signed [SB-1:0] iy = $signed(SB'(oy)) + $signed(SB'(kyi)) - SB'(PAD);
        assign row_ok[0] = (iy >= 0) && (iy < SB'(IN_H));
        assign brow[0] = iy[YBITS-1:0];
        assign ry = '0;
    end
    if (TX > 1) begin : g_xbanks
        logic [XBITS-1:0] qx_of [1 << OXB];
        logic [RXB-1:0] rx_of [1 << OXB];
        for (genvar i = 0; i < (1 << OXB); i++) begin : g_tab
            assign qx_of[i] = XBITS'(i / TX);
            assign rx_of[i] = RXB'(i % TX);
        end
        assign rx = rx_of[ox];
        for (genvar j = 0; j < TX; j++) begin : g_col
            wire signed [SB-1:0] ix = $signed(SB'(ox)) + SB'(j) - SB'(PAD);
            assign col_ok[j] = (ix >= 0) && (ix < SB'(IN_W));
            assign bcol[j] = qx_of[ox] + XBITS'(RXB'(j) < rx);
        end
    end else begin : g_xone
        wire signed [SB-1:0] ix = $signed(SB'(ox)) + $signed(SB'(kxi)) - SB'(PAD);
        assign col_ok[0] = (ix >= 0) && (ix < SB'(IN_W));
        assign bcol[0] = ix[XBITS-1:0];
        assign rx = '0;
    end
    for (genvar b = 0; b < TP; b++) begin : g_raddr
        assign raddr[b*AB +: AB] = AB'({c, brow[b / TX], bcol[b % TX]});
    end

    assign flag_data = frame_error;
    assign flag_valid = (state == FLAG) && frame_ready && flag_room;
    assign frame_release = (state == DONE);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= RUN;
            {oy, ox, g, c, kyi, kxi} <= '0;
            waddr <= '0;
        end else begin
            case (state)
                RUN: if (issue) begin
                    waddr <= (waddr == WAB'(WWORDS - 1)) ? '0 : waddr + WAB'(1);
                    if (kxi == KXB'(KXN - 1)) begin
                        kxi <= '0;
                        if (kyi == KYB'(KYN - 1)) begin
                            kyi <= '0;
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
                            kyi <= kyi + KYB'(1);
                    end else
                        kxi <= kxi + KXB'(1);
                    if (last_iter)
                        state <= FLAG;
                end
                FLAG: if (frame_ready && flag_room) state <= DONE;
                DONE: state <= RUN;          // frame_release: the next frame may be read
                default: state <= RUN;
            endcase
        end
    end

    // ---- stage 1: ROM word and bank codes arrive ---------------------------------------------
    logic v1, first1, last1;
    logic [TP-1:0] ok1;
    logic [RYB-1:0] ry1;
    logic [RXB-1:0] rx1;
    always_ff @(posedge clk) begin
        wq <= wrom[waddr];
        v1 <= issue && rst_n;
        for (int b = 0; b < TP; b++)
            ok1[b] <= row_ok[b / TX] && col_ok[b % TX];
        ry1 <= ry;
        rx1 <= rx;
        first1 <= first_tap;
        last1 <= last_tap;
    end

    // ---- registered again: the codes rotated from bank order into tap order ----------------
    // tap (jy, jx) is in bank ((jy + ry) mod TY, (jx + rx) mod TX): ry < TY, so the modulo is
    // a comparison and an add or subtract (no divider)
    logic [LANES*TP*WB-1:0] wq_r;
    logic [7:0] code_r [TP];
    logic v1r, first1r, last1r;
    localparam int BB = (TP > 1) ? $clog2(TP) : 1;
    logic [BB-1:0] row_base [1 << RYB];             // by * TX, a constant table
    for (genvar i = 0; i < (1 << RYB); i++) begin : g_rowbase
        assign row_base[i] = BB'((i < TY) ? i * TX : 0);
    end
    for (genvar jy = 0; jy < TY; jy++) begin : g_roty
        // (jy + ry) mod TY, ry < TY: past the end, wrap by subtracting TY - jy
        wire [RYB-1:0] by = (jy == 0) ? ry1 : (ry1 >= RYB'(TY - jy)) ? ry1 - RYB'(TY - jy)
                                                                    : ry1 + RYB'(jy);
        for (genvar jx = 0; jx < TX; jx++) begin : g_rotx
            wire [RXB-1:0] bx = (jx == 0) ? rx1 : (rx1 >= RXB'(TX - jx)) ? rx1 - RXB'(TX - jx)
                                                                        : rx1 + RXB'(jx);
            wire [BB-1:0] bank = row_base[by] + BB'(bx);
            always_ff @(posedge clk)
                code_r[jy * TX + jx] <= ok1[jy * TX + jx] ? bank_code[bank * 8 +: 8] : 8'd0;
        end
    end
    always_ff @(posedge clk) begin
        wq_r <= wq;
        v1r <= v1 && rst_n;
        first1r <= first1;
        last1r <= last1;
    end

    // ---- the multipliers: input registers, product registers (snn_mul_reg) -----------------
    // Each multiplier registers its own weight and code: one code register driving the
    // multipliers of every lane was the routed critical path of the taps designs (85.8 MHz:
    // 4.5 ns through the multiplier, 7.2 ns of routing to 16 lanes across the die), so the
    // fan-out is the code_r -> operand register hop, which has no logic. On ECP5 both
    // registers are MULT18X18D's own (hdl/ecp5/snn_mul_reg.sv).
    logic signed [PB-1:0] prod [LANES][TP];
    logic v2, first2, last2;
    always_ff @(posedge clk) begin
        v2 <= v1r && rst_n;
        first2 <= first1r;
        last2 <= last1r;
    end
    for (genvar l = 0; l < LANES; l++) begin : g_lane
        for (genvar b = 0; b < TP; b++) begin : g_tap
            snn_mul_reg #(.AW(WB), .BW(8), .PW(PB)) u_mul (
                .clk, .a(wq_r[(b * LANES + l) * WB +: WB]), .b(code_r[b]), .p(prod[l][b]));
        end
    end
    logic v3, first3, last3;
    always_ff @(posedge clk) begin
        v3 <= v2 && rst_n;
        first3 <= first2;
        last3 <= last2;
    end

    // ---- the sum of each tap row's products, per lane ------------------------------------------
    logic signed [RSB-1:0] rsum_c [LANES][TY];
    always_comb begin
        for (int l = 0; l < LANES; l++)
            for (int jy = 0; jy < TY; jy++) begin
                rsum_c[l][jy] = '0;
                for (int jx = 0; jx < TX; jx++)
                    rsum_c[l][jy] = rsum_c[l][jy] + RSB'(prod[l][jy * TX + jx]);
            end
    end
    logic signed [RSB-1:0] rsum [LANES][TY];
    logic v4, first4, last4;
    always_ff @(posedge clk) begin
        rsum <= rsum_c;
        v4 <= v3 && rst_n;
        first4 <= first3;
        last4 <= last3;
    end

    // ---- accumulate the tap rows -------------------------------------------------------------
    // every partial sum is the current of a sub-window: inside CURB bits
    logic signed [CURB-1:0] acc [LANES];
    logic signed [CURB-1:0] acc_c [LANES];
    always_comb begin
        for (int l = 0; l < LANES; l++) begin
            acc_c[l] = first4 ? CURB'(0) : acc[l];
            for (int jy = 0; jy < TY; jy++)
                acc_c[l] = acc_c[l] + CURB'(rsum[l][jy]);
        end
    end
    logic v5;
    always_ff @(posedge clk) begin
        if (v4)
            acc <= acc_c;
        v5 <= v4 && last4 && rst_n;
    end

    // ---- the slice's currents to the FIFO -----------------------------------------------------
    always_comb begin
        for (int l = 0; l < LANES; l++)
            cur_data[l*CURB +: CURB] = acc[l];
    end
    assign cur_valid = v5;
endmodule
