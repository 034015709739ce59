// snn_frame_in: reads one image from the AXI4-Stream input into the frame RAM and checks the
// frame's length against TLAST (core/frames.py states the rules the golden model follows):
//   TLAST early: the remaining pixels are written as zero, the frame is flagged;
//   TLAST missing on the last pixel: the frame keeps its first C*H*W codes, the beats up to and
//   including the next TLAST are dropped, the frame is flagged.
// The frame is held in TY x TX banks so that a current kernel reading TY x TX taps per cycle
// finds them in distinct banks: with TY > 1 a pixel's padded row py = y + PAD goes to bank row
// py mod TY at row py / TY (TY = 1: bank row 0, row y, unpadded), columns likewise, from
// constant tables (no divider). Each bank is addressed {c, row, column} (power-of-two fields,
// no multiplier; no c field for one channel) and read through a registered port; raddr / rdata carry one address / code per
// bank, bank (by, bx) at index by * TX + bx. LUTRAM = 1 puts the banks in distributed RAM (a
// bank of a banked frame is a few hundred bytes: a block RAM would be mostly empty).
// Single buffered: the next frame is read after the kernel has released this one
// (frame_release), so reading overlaps the LIF's timesteps; rows_ready counts the rows of the
// last channel written so far (all of them once the frame is in), so that the kernel computes
// an output row as soon as the rows it reads are there, while the rest of the frame arrives.
module snn_frame_in #(
    parameter int IN_C = 1,
    parameter int IN_H = 28,
    parameter int IN_W = 28,
    parameter int PAD = 0,     // the padded coordinates' offset, used when TY > 1 / TX > 1
    parameter int TY = 1,      // bank rows and columns
    parameter int TX = 1,
    parameter int CBITS = 1,   // bits of c, row, column in a bank's address
    parameter int YBITS = 5,
    parameter int XBITS = 5,
    parameter int LUTRAM = 0
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [7:0] s_data,
    input  logic s_valid,
    output logic s_ready,
    input  logic s_last,
    output logic frame_ready,     // a frame is in the RAM
    output logic frame_error,     // ... and it was malformed
    output logic [$clog2(IN_H + 1)-1:0] rows_ready,   // rows of the last channel written
    input  logic frame_release,   // the kernel is done with it: read the next one
    input  logic [TY*TX*(((IN_C > 1) ? CBITS : 0)+YBITS+XBITS)-1:0] raddr,
    output logic [TY*TX*8-1:0] rdata
);
    localparam int AB = ((IN_C > 1) ? CBITS : 0) + YBITS + XBITS;
    localparam int OFFY = (TY > 1) ? PAD : 0;
    localparam int OFFX = (TX > 1) ? PAD : 0;
    // bits of the pixel counters y, x
    localparam int PYB = (IN_H > 1) ? $clog2(IN_H) : 1;
    localparam int PXB = (IN_W > 1) ? $clog2(IN_W) : 1;
    localparam int RYB = (TY > 1) ? $clog2(TY) : 1;
    localparam int RXB = (TX > 1) ? $clog2(TX) : 1;
    initial begin
        if ((1 << CBITS) < IN_C || (1 << YBITS) < (IN_H + 2 * OFFY + TY - 1) / TY
            || (1 << XBITS) < (IN_W + 2 * OFFX + TX - 1) / TX || TY < 1 || TX < 1)
            $fatal(1, "snn_frame_in: address fields too narrow for the frame");
    end

    typedef enum logic [1:0] {READ, FILL, DRAIN, FULL} state_t;
    state_t state;
    logic [CBITS-1:0] c;
    logic [PYB-1:0] y;
    logic [PXB-1:0] x;
    logic err;

    // bank and in-bank row / column of each pixel row / column
    logic [RYB-1:0] by_of [1 << PYB];
    logic [YBITS-1:0] qy_of [1 << PYB];
    logic [RXB-1:0] bx_of [1 << PXB];
    logic [XBITS-1:0] qx_of [1 << PXB];
    for (genvar i = 0; i < (1 << PYB); i++) begin : g_ytab
        assign by_of[i] = RYB'((i + OFFY) % TY);
        assign qy_of[i] = YBITS'((i + OFFY) / TY);
    end
    for (genvar i = 0; i < (1 << PXB); i++) begin : g_xtab
        assign bx_of[i] = RXB'((i + OFFX) % TX);
        assign qx_of[i] = XBITS'((i + OFFX) / TX);
    end

    wire last_pixel = (c == CBITS'(IN_C - 1)) && (y == PYB'(IN_H - 1)) && (x == PXB'(IN_W - 1));
    wire beat = s_valid && s_ready;
    wire we = (state == READ && beat) || state == FILL;
    wire [7:0] wdata = (state == READ) ? s_data : 8'd0;
    wire [AB-1:0] waddr = AB'({c, qy_of[y], qx_of[x]});
    // low while in reset: a beat taken then would be lost (the state is not reset until the
    // first reset edge, and the counters ignore beats during reset)
    assign s_ready = rst_n && ((state == READ) || (state == DRAIN));
    assign frame_ready = (state == FULL);
    assign frame_error = err;
    // every pixel is in from the last one's write (DRAIN: beats past it are dropped); before,
    // the rows of the last channel above the one being written
    assign rows_ready = (state == FULL || state == DRAIN) ? ($clog2(IN_H + 1))'(IN_H)
                      : (c == CBITS'(IN_C - 1)) ? ($clog2(IN_H + 1))'(y) : '0;

    for (genvar b = 0; b < TY * TX; b++) begin : g_bank
        wire bank_we = we && (by_of[y] == RYB'(b / TX)) && (bx_of[x] == RXB'(b % TX));
        if (LUTRAM != 0) begin : g_lut
            (* ram_style = "distributed" *) logic [7:0] ram [1 << AB];
            always_ff @(posedge clk) begin
                if (bank_we)
                    ram[waddr] <= wdata;
                rdata[b*8 +: 8] <= ram[raddr[b*AB +: AB]];
            end
        end else begin : g_block
            logic [7:0] ram [1 << AB];
            always_ff @(posedge clk) begin
                if (bank_we)
                    ram[waddr] <= wdata;
                rdata[b*8 +: 8] <= ram[raddr[b*AB +: AB]];
            end
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            state <= READ;
            c <= '0;
            y <= '0;
            x <= '0;
            err <= 1'b0;
        end else begin
            if (we) begin  // next pixel, C-order
                if (x == PXB'(IN_W - 1)) begin
                    x <= '0;
                    if (y == PYB'(IN_H - 1)) begin
                        y <= '0;
                        c <= (c == CBITS'(IN_C - 1)) ? '0 : c + CBITS'(1);
                    end else
                        y <= y + PYB'(1);
                end else
                    x <= x + PXB'(1);
            end
            case (state)
                READ: if (beat) begin
                    if (last_pixel) begin
                        err <= !s_last;
                        state <= s_last ? FULL : DRAIN;
                    end else if (s_last) begin
                        err <= 1'b1;
                        state <= FILL;
                    end
                end
                FILL: if (last_pixel) state <= FULL;
                DRAIN: if (beat && s_last) state <= FULL;
                FULL: if (frame_release) begin
                    state <= READ;
                    err <= 1'b0;
                end
                default: state <= READ;
            endcase
        end
    end
endmodule
