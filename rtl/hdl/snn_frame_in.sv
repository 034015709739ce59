// snn_frame_in: reads one image from the AXI4-Stream input into the frame RAM and checks the
// frame's length against TLAST (core/frames.py states the rules the golden model follows):
//   TLAST early: the remaining pixels are written as zero, the frame is flagged;
//   TLAST missing on the last pixel: the frame keeps its first C*H*W codes, the beats up to and
//   including the next TLAST are dropped, the frame is flagged.
// The frame RAM is addressed {c, y, x} (power-of-two fields, no multiplier) and read by the
// current kernel through a registered port. Single buffered: the next frame is read after the
// kernel has released this one (frame_release), so reading overlaps the LIF's timesteps but
// not the current's own compute.
module snn_frame_in #(
    parameter int IN_C = 1,
    parameter int IN_H = 28,
    parameter int IN_W = 28,
    parameter int CBITS = 1,   // bits of c, y, x in the RAM address
    parameter int YBITS = 5,
    parameter int XBITS = 5
) (
    input  logic clk,
    input  logic rst_n,
    input  logic [7:0] s_data,
    input  logic s_valid,
    output logic s_ready,
    input  logic s_last,
    output logic frame_ready,     // a frame is in the RAM
    output logic frame_error,     // ... and it was malformed
    input  logic frame_release,   // the kernel is done with it: read the next one
    input  logic [CBITS+YBITS+XBITS-1:0] raddr,
    output logic [7:0] rdata
);
    localparam int AB = CBITS + YBITS + XBITS;
    initial begin
        if ((1 << CBITS) < IN_C || (1 << YBITS) < IN_H || (1 << XBITS) < IN_W)
            $fatal(1, "snn_frame_in: address fields too narrow for the frame");
    end

    typedef enum logic [1:0] {READ, FILL, DRAIN, FULL} state_t;
    state_t state;
    logic [CBITS-1:0] c;
    logic [YBITS-1:0] y;
    logic [XBITS-1:0] x;
    logic err;
    logic [7:0] ram [1 << AB];

    wire last_pixel = (c == CBITS'(IN_C - 1)) && (y == YBITS'(IN_H - 1)) && (x == XBITS'(IN_W - 1));
    wire beat = s_valid && s_ready;
    wire we = (state == READ && beat) || state == FILL;
    // low while in reset: a beat taken then would be lost (the state is not reset until the
    // first reset edge, and the counters ignore beats during reset)
    assign s_ready = rst_n && ((state == READ) || (state == DRAIN));
    assign frame_ready = (state == FULL);
    assign frame_error = err;

    always_ff @(posedge clk) begin
        if (we)
            ram[{c, y, x}] <= (state == READ) ? s_data : 8'd0;
        rdata <= ram[raddr];
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
                if (x == XBITS'(IN_W - 1)) begin
                    x <= '0;
                    if (y == YBITS'(IN_H - 1)) begin
                        y <= '0;
                        c <= (c == CBITS'(IN_C - 1)) ? '0 : c + CBITS'(1);
                    end else
                        y <= y + YBITS'(1);
                end else
                    x <= x + XBITS'(1);
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
