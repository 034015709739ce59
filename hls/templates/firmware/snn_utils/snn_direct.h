// snn_direct.h: the first layer's input current, computed once per image from the pixel codes.
//
// Direct input means the current is the same at every timestep, so these kernels run once per
// image; the LIF kernel stores it and reuses it T times. They hold the design's only
// multipliers: `lanes` of them, one per output channel of a slice, each reused for every tap.
#ifndef SNN_DIRECT_H_
#define SNN_DIRECT_H_

#include "snn_common.h"

namespace snn {

// Read one image (in_c * in_h * in_w codes, C-order) from the AXI4-Stream input.
// CONFIG: in_c, in_h, in_w, pad, code_t.
template <class CONFIG>
void read_image(hls::stream<axis_in_t> &s_axis,
                typename CONFIG::code_t frame[CONFIG::in_c][CONFIG::in_h + 2 * CONFIG::pad]
                                             [CONFIG::in_w + 2 * CONFIG::pad]) {
ReadImage:
    for (unsigned c = 0; c < CONFIG::in_c; c++) {
        for (unsigned y = 0; y < CONFIG::in_h; y++) {
            for (unsigned x = 0; x < CONFIG::in_w; x++) {
#pragma HLS PIPELINE II = 1
                axis_in_t word = s_axis.read();
                frame[c][y + CONFIG::pad][x + CONFIG::pad] = word.data;
            }
        }
    }
}

// Convolution current, one slice (lanes output channels at one position) per output word.
// One pipelined loop over (position, group, tap) with II=1: in_c * kernel^2 cycles per slice.
// CONFIG: in_c, in_h, in_w, out_h, out_w, kernel, pad, lanes, groups, code_t, weight_t, current_t.
// Weights are laid out [group][tap][lane], tap = (c * kernel + ky) * kernel + kx.
template <class CONFIG, class W_T>
void conv_direct_current(
    hls::stream<axis_in_t> &s_axis,
    hls::stream<lane_vec<typename CONFIG::current_t, CONFIG::lanes> > &cur_out,
    const W_T w[CONFIG::groups][CONFIG::in_c * CONFIG::kernel * CONFIG::kernel][CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
    const unsigned K = CONFIG::kernel;
    const unsigned TAPS = CONFIG::in_c * K * K;
    // Zero padding lives in the frame's border, which is never written.
    static typename CONFIG::code_t frame[CONFIG::in_c][CONFIG::in_h + 2 * CONFIG::pad]
                                        [CONFIG::in_w + 2 * CONFIG::pad];
    read_image<CONFIG>(s_axis, frame);

    typename CONFIG::current_t acc[CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
    unsigned oy = 0, ox = 0, g = 0, c = 0, ky = 0, kx = 0, tap = 0;
ConvCurrent:
    for (unsigned i = 0; i < CONFIG::out_h * CONFIG::out_w * CONFIG::groups * TAPS; i++) {
#pragma HLS PIPELINE II = 1
        typename CONFIG::code_t code = frame[c][oy + ky][ox + kx];
        for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
            typename CONFIG::current_t prev = (tap == 0) ? typename CONFIG::current_t(0) : acc[l];
            acc[l] = prev + typename CONFIG::weight_t(w[g][tap][l]) * code;
        }
        if (tap == TAPS - 1) {
            lane_vec<typename CONFIG::current_t, CONFIG::lanes> out;
            for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
                out.v[l] = acc[l];
            }
            cur_out.write(out);
        }
        // advance the (oy, ox, g, c, ky, kx) counters: kx fastest
        tap = (tap == TAPS - 1) ? 0 : tap + 1;
        if (++kx == K) {
            kx = 0;
            if (++ky == K) {
                ky = 0;
                if (++c == CONFIG::in_c) {
                    c = 0;
                    if (++g == CONFIG::groups) {
                        g = 0;
                        if (++ox == CONFIG::out_w) {
                            ox = 0;
                            ++oy;
                        }
                    }
                }
            }
        }
    }
}

// Dense current of the first layer: one slice per group, n_in cycles each.
// CONFIG: in_c, in_h, in_w (pad = 0), n_in, lanes, groups, code_t, weight_t, current_t.
// Weights are laid out [group][input][lane].
template <class CONFIG, class W_T>
void dense_direct_current(hls::stream<axis_in_t> &s_axis,
                          hls::stream<lane_vec<typename CONFIG::current_t, CONFIG::lanes> > &cur_out,
                          const W_T w[CONFIG::groups][CONFIG::n_in][CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
    static typename CONFIG::code_t frame[CONFIG::in_c][CONFIG::in_h][CONFIG::in_w];
    read_image<CONFIG>(s_axis, frame);

    typename CONFIG::current_t acc[CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = acc complete
    unsigned g = 0, c = 0, y = 0, x = 0, j = 0;
DenseCurrent:
    for (unsigned i = 0; i < CONFIG::groups * CONFIG::n_in; i++) {
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
        }
        j = (j == CONFIG::n_in - 1) ? 0 : j + 1;
        if (++x == CONFIG::in_w) {
            x = 0;
            if (++y == CONFIG::in_h) {
                y = 0;
                if (++c == CONFIG::in_c) {
                    c = 0;
                    ++g;
                }
            }
        }
    }
}

} // namespace snn

#endif
