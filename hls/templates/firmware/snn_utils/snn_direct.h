// snn_direct.h: the first layer's input current, computed once per image from the pixel codes.
//
// Direct input means the current is the same at every timestep, so these kernels run once per
// image; the LIF kernel stores it and reuses it T times. They hold the design's only
// multipliers: `lanes` x `taps_y * taps_x` of them, each reused for every block of taps.
// The current stream to the LIF kernel holds a whole image of current vectors (its depth is set
// by the design), so the next image's current is computed while the LIF kernel still runs the
// timesteps 1..T-1 of the current one: images overlap.
#ifndef SNN_DIRECT_H_
#define SNN_DIRECT_H_

#include "snn_common.h"

namespace snn {

// Read one frame (in_c * in_h * in_w codes, C-order) from the AXI4-Stream input and check its
// length against TLAST. A frame whose TLAST comes early is zero-filled; one whose TLAST is
// missing on the last code is truncated (beats up to and including the next TLAST are dropped).
// Either way the image still runs (so every frame gives one result) and the returned flag,
// passed to the result process, marks its class word. CONFIG: in_c, in_h, in_w, pad, code_t.
template <class CONFIG>
bool read_frame(hls::stream<axis_in_t> &s_axis,
                typename CONFIG::code_t frame[CONFIG::in_c][CONFIG::in_h + 2 * CONFIG::pad]
                                             [CONFIG::in_w + 2 * CONFIG::pad]) {
    const unsigned N = CONFIG::in_c * CONFIG::in_h * CONFIG::in_w;
    ap_uint<bits_for<CONFIG::in_c>::value> c = 0;
    ap_uint<bits_for<CONFIG::in_h>::value> y = 0;
    ap_uint<bits_for<CONFIG::in_w>::value> x = 0;
    bool early = false, last_seen = false;
ReadFrame:
    for (ap_uint<bits_for<N>::value> i = 0; i < N; i++) {
#pragma HLS PIPELINE II = 1
        typename CONFIG::code_t v = 0;
        if (!early) {
            axis_in_t word = s_axis.read();
            v = word.data;
            last_seen = word.last;
            early = word.last && i != N - 1;
        }
        frame[c][y + CONFIG::pad][x + CONFIG::pad] = v;
        if (x == CONFIG::in_w - 1) {
            x = 0;
            if (y == CONFIG::in_h - 1) {
                y = 0;
                ++c;
            } else {
                ++y;
            }
        } else {
            ++x;
        }
    }
    bool late = !early && !last_seen;
    if (late) {
    DropToTlast:
        for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1 avg = 1
            axis_in_t word = s_axis.read();
            if (word.last)
                break;
        }
    }
    return early || late;
}

// Convolution current, one slice (lanes output channels at one position) per output word.
// One pipelined loop over (position, group, channel, tap block) with II=1, each iteration taking
// a block of taps_y x taps_x taps (one tap, a kernel row, or the window: lanes x taps_y x taps_x
// multipliers): in_c * kernel^2 / (taps_y * taps_x) cycles per slice. The frame is partitioned
// cyclically by taps_y rows and taps_x columns, so a block's taps lie in distinct banks (the RTL
// banks it the same way). CONFIG: in_c, in_h, in_w, out_h, out_w, kernel, pad, lanes, groups,
// taps_y, taps_x, blocks_y = kernel / taps_y, blocks_x = kernel / taps_x, code_t, weight_t,
// current_t. Weights are laid out [group][block][tap][lane], block = (c * blocks_y + ky /
// taps_y) * blocks_x + kx / taps_x, tap in (ky, kx) order within the block: the C-order tap
// index (c * kernel + ky) * kernel + kx, split.
template <class CONFIG, class W_T>
void conv_direct_current(
    hls::stream<axis_in_t> &s_axis,
    hls::stream<lane_vec<typename CONFIG::current_t, CONFIG::lanes> > &cur_out,
    hls::stream<bool> &frame_error,
    const W_T w[CONFIG::groups][CONFIG::in_c * CONFIG::blocks_y * CONFIG::blocks_x]
               [CONFIG::taps_y * CONFIG::taps_x][CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
#pragma HLS ARRAY_PARTITION variable = w complete dim = 4
    const unsigned TY = CONFIG::taps_y, TX = CONFIG::taps_x;
    const unsigned KYN = CONFIG::blocks_y, KXN = CONFIG::blocks_x;
    const unsigned BLOCKS = CONFIG::in_c * KYN * KXN;
    const unsigned ITERS = CONFIG::out_h * CONFIG::out_w * CONFIG::groups * BLOCKS;
    // Zero padding lives in the frame's border, which is never written.
    static typename CONFIG::code_t frame[CONFIG::in_c][CONFIG::in_h + 2 * CONFIG::pad]
                                        [CONFIG::in_w + 2 * CONFIG::pad];
#pragma HLS ARRAY_PARTITION variable = frame cyclic factor = TY dim = 2
#pragma HLS ARRAY_PARTITION variable = frame cyclic factor = TX dim = 3
    frame_error.write(read_frame<CONFIG>(s_axis, frame));

    typename CONFIG::current_t acc[CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
    ap_uint<bits_for<CONFIG::out_h>::value> oy = 0;
    ap_uint<bits_for<CONFIG::out_w>::value> ox = 0;
    ap_uint<bits_for<CONFIG::groups>::value> g = 0;
    ap_uint<bits_for<CONFIG::in_c>::value> c = 0;
    ap_uint<bits_for<KYN>::value> kyi = 0;
    ap_uint<bits_for<KXN>::value> kxi = 0;
    ap_uint<bits_for<BLOCKS>::value> blk = 0;
ConvCurrent:
    for (ap_uint<bits_for<ITERS>::value> i = 0; i < ITERS; i++) {
#pragma HLS PIPELINE II = 1
        typename CONFIG::code_t code[TY * TX];
#pragma HLS ARRAY_PARTITION variable = code complete
        for (unsigned jy = 0; jy < TY; jy++) {
#pragma HLS UNROLL
            for (unsigned jx = 0; jx < TX; jx++) {
#pragma HLS UNROLL
                code[jy * TX + jx] = frame[c][oy + kyi * TY + jy][ox + kxi * TX + jx];
            }
        }
        for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
            typename CONFIG::current_t prev = (blk == 0) ? typename CONFIG::current_t(0) : acc[l];
            for (unsigned j = 0; j < TY * TX; j++) {
#pragma HLS UNROLL
                // every partial sum is the current of a sub-window: inside current_t
                prev += typename CONFIG::weight_t(w[g][blk][j][l]) * code[j];
            }
            acc[l] = prev;
        }
        if (blk == BLOCKS - 1) {
            lane_vec<typename CONFIG::current_t, CONFIG::lanes> out;
            for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
                out.v[l] = acc[l];
            }
            cur_out.write(out);
        }
        // advance the (oy, ox, g, c, kyi, kxi) counters: kxi fastest
        blk = (blk == BLOCKS - 1) ? ap_uint<bits_for<BLOCKS>::value>(0)
                                  : ap_uint<bits_for<BLOCKS>::value>(blk + 1);
        if (kxi == KXN - 1) {
            kxi = 0;
            if (kyi == KYN - 1) {
                kyi = 0;
                if (c == CONFIG::in_c - 1) {
                    c = 0;
                    if (g == CONFIG::groups - 1) {
                        g = 0;
                        if (ox == CONFIG::out_w - 1) {
                            ox = 0;
                            ++oy;
                        } else {
                            ++ox;
                        }
                    } else {
                        ++g;
                    }
                } else {
                    ++c;
                }
            } else {
                ++kyi;
            }
        } else {
            ++kxi;
        }
    }
}

// Dense current of the first layer: one slice per group, n_in cycles each.
// CONFIG: in_c, in_h, in_w (pad = 0), n_in, lanes, groups, code_t, weight_t, current_t.
// Weights are laid out [group][input][lane].
template <class CONFIG, class W_T>
void dense_direct_current(hls::stream<axis_in_t> &s_axis,
                          hls::stream<lane_vec<typename CONFIG::current_t, CONFIG::lanes> > &cur_out,
                          hls::stream<bool> &frame_error,
                          const W_T w[CONFIG::groups][CONFIG::n_in][CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
    const unsigned ITERS = CONFIG::groups * CONFIG::n_in;
    static typename CONFIG::code_t frame[CONFIG::in_c][CONFIG::in_h][CONFIG::in_w];
    frame_error.write(read_frame<CONFIG>(s_axis, frame));

    typename CONFIG::current_t acc[CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
    ap_uint<bits_for<CONFIG::groups>::value> g = 0;
    ap_uint<bits_for<CONFIG::in_c>::value> c = 0;
    ap_uint<bits_for<CONFIG::in_h>::value> y = 0;
    ap_uint<bits_for<CONFIG::in_w>::value> x = 0;
    ap_uint<bits_for<CONFIG::n_in>::value> j = 0;
DenseCurrent:
    for (ap_uint<bits_for<ITERS>::value> i = 0; i < ITERS; i++) {
#pragma HLS PIPELINE II = 1
        typename CONFIG::code_t code = frame[c][y][x];
        for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
            typename CONFIG::current_t prev = (j == 0) ? typename CONFIG::current_t(0) : acc[l];
            acc[l] = prev + typename CONFIG::weight_t(w[g][j][l]) * code;
        }
        if (j == CONFIG::n_in - 1) {
            lane_vec<typename CONFIG::current_t, CONFIG::lanes> out;
            for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
                out.v[l] = acc[l];
            }
            cur_out.write(out);
            j = 0;
        } else {
            ++j;
        }
        if (x == CONFIG::in_w - 1) {
            x = 0;
            if (y == CONFIG::in_h - 1) {
                y = 0;
                if (c == CONFIG::in_c - 1) {
                    c = 0;
                    ++g;
                } else {
                    ++c;
                }
            } else {
                ++y;
            }
        } else {
            ++x;
        }
    }
}

} // namespace snn

#endif
