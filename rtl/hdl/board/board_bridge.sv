// board_bridge: the UART framing around the network's AXI4-Stream ports (docs/BOARD.md).
//
// Host -> board, one request per image (CRC-8 over every byte after the sync byte):
//     0xA5, SEQ, LEN[7:0], LEN[15:8], LEN code bytes, CRC
// LEN must equal N_INPUTS. Board -> host, exactly one reply per request whose header
// (0xA5, SEQ, LEN == N_INPUTS) arrived, in request order:
//     0x5A, SEQ, STATUS, (CLASSES + 1) x 4 bytes (32-bit words, little-endian), CRC
// the words being the network's class word (bit 31 = malformed frame) and accumulators, or
// zeros when STATUS bit 0 is set. CRC-8: polynomial x^8 + x^2 + x + 1 (0x07), initial value
// 0, no reflection, no final XOR; over SEQ..last code (request), SEQ..last word byte (reply).
// STATUS: bit 0 the request was refused (nothing was sent to the network), bits [6:4] why
// (1 checksum, 2 inter-byte timeout, 3 frame buffer full, 4 a byte with a low stop
// bit), bit 1 the network flagged the frame malformed (class word bit 31; the bridge only
// forwards whole frames, so never expected), bit 7 bytes outside any request were dropped
// (noise, a bad header) since the previous reply.
//
// A request's codes are written into a buffer of DEPTH (a power of two >= 2 * N_INPUTS)
// 9-bit words {TLAST, code} and committed only when its CRC is right: the network sees
// whole, checked frames only. A request is refused (buffer rolled back, error reply) on a
// wrong CRC, a stop-bit error in any of its bytes, a full buffer, or a gap of TIMEOUT_CYCLES
// between two of its bytes (a truncated request: dropped, not shortened); with the reply
// queue full (a host with more than REPLIES requests in flight) it is dropped without one.
// Outside a request every byte other than 0xA5 is dropped; a header whose length is not
// N_INPUTS, or that stalls, is dropped too (no reply: it may be noise that looked like a sync
// byte) and hunting for 0xA5 starts again. `error` latches every such event until reset.
//
// Committed frames go to s_axis one code per two cycles; replies are assembled from the reply
// queue (REPLIES entries {SEQ, STATUS}, one per finished request) and, for accepted requests,
// the network's next result from m_axis, one byte at a time into the UART transmitter.
// Memories: the frame buffer has one write port and a registered read (one block RAM), no
// reset; the reply queue is REPLIES registers, not reset as a whole (its pointers are).
module board_bridge #(
    parameter int N_INPUTS = 784,
    parameter int CLASSES = 10,
    parameter int TIMEOUT_CYCLES = 1_000_000,
    parameter int REPLIES = 4
) (
    input  logic        clk,
    input  logic        rst_n,
    // UART receiver
    input  logic [7:0]  rx_data,
    input  logic        rx_valid,
    input  logic        rx_ferr,
    // UART transmitter
    output logic [7:0]  tx_data,
    output logic        tx_valid,
    input  logic        tx_ready,
    // the network
    output logic [7:0]  s_tdata,
    output logic        s_tvalid,
    input  logic        s_tready,
    output logic        s_tlast,
    input  logic [31:0] m_tdata,
    input  logic        m_tvalid,
    output logic        m_tready,
    input  logic        m_tlast,
    // status
    output logic        busy,
    output logic        error,
    output logic        replied          // one-cycle pulse: a reply's last byte was handed over
);
    localparam int DEPTH = 1 << $clog2(2 * N_INPUTS);
    localparam int AW = $clog2(DEPTH);
    localparam int NB = $clog2(N_INPUTS + 1);
    localparam int TB = $clog2(TIMEOUT_CYCLES + 1);
    localparam int QB = $clog2(REPLIES);
    localparam int WB = $clog2(CLASSES + 2);
    localparam logic [7:0] SYNC_REQ = 8'hA5;
    localparam logic [7:0] SYNC_REP = 8'h5A;
    localparam logic [2:0] CAUSE_CRC = 3'd1, CAUSE_TIMEOUT = 3'd2, CAUSE_FULL = 3'd3,
                           CAUSE_STOP = 3'd4;

    initial begin
        if (N_INPUTS < 1 || N_INPUTS > 65535)
            $fatal(1, "board_bridge: N_INPUTS must be 1..65535 (a 16-bit length), got %0d",
                   N_INPUTS);
        if (CLASSES < 1)
            $fatal(1, "board_bridge: CLASSES must be >= 1, got %0d", CLASSES);
        if (TIMEOUT_CYCLES < 16)
            $fatal(1, "board_bridge: TIMEOUT_CYCLES must be >= 16, got %0d", TIMEOUT_CYCLES);
        if (REPLIES < 2 || (1 << QB) != REPLIES)
            $fatal(1, "board_bridge: REPLIES must be a power of two >= 2, got %0d", REPLIES);
    end

    function automatic logic [7:0] crc8(input logic [7:0] crc, input logic [7:0] b);
        logic [7:0] c;
        c = crc ^ b;
        for (int i = 0; i < 8; i++)
            c = c[7] ? ((c << 1) ^ 8'h07) : (c << 1);
        crc8 = c;
    endfunction

    // ---- receive: hunt, header, codes into the buffer, CRC ------------------------------------
    typedef enum logic [2:0] {R_SYNC, R_SEQ, R_LEN0, R_LEN1, R_DATA, R_CHK} rstate_t;
    rstate_t rstate;
    logic [7:0] rseq, len_lo, rcrc;
    logic [NB-1:0] count;                    // codes received in this request
    logic bad_full, bad_stop;                // this request is refused at its end
    logic [TB-1:0] idle;                     // cycles since this request's last byte
    logic dropped;                           // bytes dropped since the last reply (STATUS bit 7)

    logic [8:0] mem [DEPTH];                 // {TLAST, code}
    logic [AW-1:0] wp, cp, rp;               // write, commit, read pointers
    logic [8:0] ram_q;
    logic rd_pending;

    logic [15:0] queue [REPLIES];            // {SEQ, STATUS}
    logic [QB:0] qw, qr;
    wire q_full = (qw - qr) == (QB + 1)'(REPLIES);
    wire q_empty = (qw == qr);

    wire full = (wp + AW'(1)) == rp;
    wire in_request = (rstate == R_DATA) || (rstate == R_CHK);
    // a byte arriving in the very cycle of the timeout still counts (never both at once)
    wire timed_out = (rstate != R_SYNC) && (idle == TB'(TIMEOUT_CYCLES)) && !rx_valid;
    wire write_code = rx_valid && rstate == R_DATA && !full;
    wire last_code = (count == NB'(N_INPUTS - 1));
    wire crc_ok = (rx_data == rcrc);
    wire accept = rx_valid && rstate == R_CHK && crc_ok && !bad_full && !bad_stop
                  && !rx_ferr && !q_full;
    wire refuse_end = rx_valid && rstate == R_CHK && !accept;
    wire refuse_timeout = timed_out && in_request;
    wire push = (accept || refuse_end || refuse_timeout) && !q_full;
    logic [2:0] cause;
    always_comb begin
        if (refuse_timeout)
            cause = CAUSE_TIMEOUT;
        else if (bad_stop || rx_ferr)
            cause = CAUSE_STOP;
        else if (bad_full)
            cause = CAUSE_FULL;
        else
            cause = CAUSE_CRC;
    end
    wire drop_event = (rx_valid && rstate == R_SYNC && (rx_data != SYNC_REQ || rx_ferr))
                      || (rx_valid && rstate == R_LEN1
                          && {rx_data, len_lo} != 16'(N_INPUTS))
                      || (rx_valid && rx_ferr && (rstate == R_SEQ || rstate == R_LEN0
                                                  || rstate == R_LEN1))
                      || (timed_out && !in_request);
    logic pop;                               // the transmitter takes the queue's head

    always_ff @(posedge clk) begin
        if (write_code)
            mem[wp] <= {last_code, rx_data};
        if (push)
            queue[qw[QB-1:0]] <= {rseq, accept ? 8'h00 : {1'b0, cause, 3'b000, 1'b1}};
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            rstate <= R_SYNC;
            idle <= '0;
            count <= '0;
            bad_full <= 1'b0;
            bad_stop <= 1'b0;
            wp <= '0;
            cp <= '0;
            qw <= '0;
        end else begin
            idle <= (rx_valid || timed_out || rstate == R_SYNC) ? '0 : idle + TB'(1);
            if (timed_out) begin
                rstate <= R_SYNC;
                wp <= cp;                                    // drop a partial request
            end else if (rx_valid) begin
                unique case (rstate)
                    R_SYNC: if (rx_data == SYNC_REQ && !rx_ferr) rstate <= R_SEQ;
                    R_SEQ: begin
                        rseq <= rx_data;
                        rcrc <= crc8(8'h00, rx_data);
                        rstate <= rx_ferr ? R_SYNC : R_LEN0;
                    end
                    R_LEN0: begin
                        len_lo <= rx_data;
                        rcrc <= crc8(rcrc, rx_data);
                        rstate <= rx_ferr ? R_SYNC : R_LEN1;
                    end
                    R_LEN1: begin
                        rcrc <= crc8(rcrc, rx_data);
                        count <= '0;
                        bad_full <= 1'b0;
                        bad_stop <= 1'b0;
                        rstate <= (rx_ferr || {rx_data, len_lo} != 16'(N_INPUTS)) ? R_SYNC
                                                                                   : R_DATA;
                    end
                    R_DATA: begin
                        rcrc <= crc8(rcrc, rx_data);
                        count <= count + NB'(1);
                        if (full)
                            bad_full <= 1'b1;
                        else
                            wp <= wp + AW'(1);
                        if (rx_ferr)
                            bad_stop <= 1'b1;
                        if (last_code)
                            rstate <= R_CHK;
                    end
                    R_CHK: begin
                        if (accept)
                            cp <= wp;                                // commit the frame
                        else
                            wp <= cp;                                // roll it back
                        rstate <= R_SYNC;
                    end
                    default: rstate <= R_SYNC;
                endcase
            end
            if (push)
                qw <= qw + (QB + 1)'(1);
        end
    end

    // ---- forward committed codes to s_axis (registered RAM read, one code per two cycles) ----
    wire issue = (rp != cp) && !rd_pending && (!s_tvalid || s_tready);

    always_ff @(posedge clk) begin
        if (issue)
            ram_q <= mem[rp];
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            rp <= '0;
            rd_pending <= 1'b0;
            s_tvalid <= 1'b0;
        end else begin
            rd_pending <= issue;
            if (issue)
                rp <= rp + AW'(1);
            if (rd_pending) begin
                s_tvalid <= 1'b1;
                {s_tlast, s_tdata} <= ram_q;
            end else if (s_tready) begin
                s_tvalid <= 1'b0;
            end
        end
    end

    // ---- replies: SYNC, SEQ, STATUS, words, CRC, one byte at a time ----------------------------
    typedef enum logic [1:0] {T_IDLE, T_WORD, T_SEND} tstate_t;
    typedef enum logic [2:0] {P_SYNC, P_SEQ, P_STATUS, P_WORDS, P_CRC} part_t;
    tstate_t tstate;
    part_t part;
    logic [7:0] tseq, tstatus, tcrc;
    logic refused;                           // the reply of a refused request: zero words
    logic [31:0] word;
    logic [1:0] wbyte;
    logic [WB-1:0] widx;                     // the word being sent: 0 class word, then acc

    assign pop = (tstate == T_IDLE) && !q_empty;
    assign m_tready = (tstate == T_WORD) && !refused;
    wire got_word = (tstate == T_WORD) && (refused || m_tvalid);
    wire tlast_bad = got_word && !refused && (m_tlast != (widx == WB'(CLASSES)));
    wire sent = tx_valid && tx_ready;
    wire [15:0] head = queue[qr[QB-1:0]];

    assign tx_valid = (tstate == T_SEND);
    always_comb begin
        unique case (part)
            P_SYNC: tx_data = SYNC_REP;
            P_SEQ: tx_data = tseq;
            P_STATUS: tx_data = tstatus;
            P_WORDS: tx_data = word[8 * wbyte +: 8];
            default: tx_data = tcrc;
        endcase
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            tstate <= T_IDLE;
            part <= P_SYNC;
            qr <= '0;
            dropped <= 1'b0;
        end else begin
            if (drop_event)
                dropped <= 1'b1;
            unique case (tstate)
                T_IDLE: if (pop) begin
                    qr <= qr + (QB + 1)'(1);
                    tseq <= head[15:8];
                    tstatus <= head[7:0] | {dropped, 7'b0};
                    if (!drop_event)
                        dropped <= 1'b0;
                    refused <= head[0];
                    tcrc <= 8'h00;
                    part <= P_SYNC;
                    widx <= '0;
                    tstate <= T_WORD;
                end
                T_WORD: if (got_word) begin
                    word <= refused ? 32'h0 : m_tdata;
                    if (!refused && widx == '0)
                        tstatus[1] <= m_tdata[31];
                    wbyte <= 2'd0;
                    tstate <= T_SEND;
                end
                T_SEND: if (sent) begin
                    if (part != P_SYNC)
                        tcrc <= crc8(tcrc, tx_data);
                    unique case (part)
                        P_SYNC: part <= P_SEQ;
                        P_SEQ: part <= P_STATUS;
                        P_STATUS: part <= P_WORDS;
                        P_WORDS: begin
                            wbyte <= wbyte + 2'd1;
                            if (wbyte == 2'd3) begin
                                if (widx == WB'(CLASSES)) begin
                                    part <= P_CRC;
                                end else begin
                                    widx <= widx + WB'(1);
                                    tstate <= T_WORD;
                                end
                            end
                        end
                        default: tstate <= T_IDLE;
                    endcase
                end
                default: tstate <= T_IDLE;
            endcase
        end
    end

    // ---- status -------------------------------------------------------------------------------
    always_ff @(posedge clk) begin
        if (!rst_n)
            error <= 1'b0;
        else if (drop_event || refuse_end || refuse_timeout || tlast_bad)
            error <= 1'b1;
    end

    assign replied = sent && part == P_CRC;
    assign busy = (rstate != R_SYNC) || (rp != cp) || rd_pending || s_tvalid || !q_empty
                  || (tstate != T_IDLE);
endmodule
