// snn_readout.h: the non-spiking output layer. Its current summed over the T timesteps is the
// accumulator (logit); the class is the lowest index of the largest accumulator.
#ifndef SNN_READOUT_H_
#define SNN_READOUT_H_

#include "snn_common.h"
#include "snn_event.h"

namespace snn {

// Write one image's result on the AXI4-Stream output: the class word (bit FRAME_ERROR_BIT set
// when the image's input frame was malformed), then the accumulators as 32-bit two's complement
// words; TLAST marks the last accumulator. Clears the accumulators. (In a C simulation that cuts
// the image off, it stops before the result: snn_common.h, "Reset".)
// CONFIG: classes, lanes, groups, acc_t.
template <class CONFIG>
void write_result(typename CONFIG::acc_t acc[CONFIG::groups][CONFIG::lanes],
                  hls::stream<bool> &frame_error, hls::stream<axis_out_t> &m_axis) {
    typedef ap_uint<bits_for<CONFIG::groups>::value> g_t;
    typedef ap_uint<bits_for<CONFIG::lanes>::value> l_t;
    typedef ap_uint<bits_for<CONFIG::classes>::value> cls_t;
    const bool error = frame_error.read();
    SNN_CSIM_ABORTED(return);
    typename CONFIG::acc_t best = acc[0][0];
    cls_t cls = 0;
    g_t g = 0;
    l_t l = 0;
Argmax:
    for (cls_t i = 0; i < CONFIG::classes; i++) {
#pragma HLS PIPELINE II = 1
        typename CONFIG::acc_t v = acc[g][l];
        if (v > best) { // strict: ties keep the lowest index
            best = v;
            cls = i;
        }
        if (l == CONFIG::lanes - 1) {
            l = 0;
            ++g;
        } else {
            ++l;
        }
    }
    axis_out_t word;
    word.keep = -1;
    word.strb = -1;
    word.data = cls;
    word.data[FRAME_ERROR_BIT] = error;
    word.last = 0;
    m_axis.write(word);
    g = 0;
    l = 0;
Accumulators:
    for (cls_t i = 0; i < CONFIG::classes; i++) {
#pragma HLS PIPELINE II = 1
        ap_int<32> v = acc[g][l];
        word.data = v;
        word.last = (i == CONFIG::classes - 1);
        m_axis.write(word);
        if (l == CONFIG::lanes - 1) {
            l = 0;
            ++g;
        } else {
            ++l;
        }
    }
    clear_words<CONFIG::groups, CONFIG::lanes>(acc);
}

// Spike-driven readout: T scatter passes into the accumulators, then the result.
// CONFIG: in_c_pad, in_h, in_w, classes, lanes, groups, timesteps, scatter_max, scatter_avg,
//         weight_t, acc_t. Weights are laid out [input channel][y][x][group][lane].
template <class CONFIG, class IN_T, class W_T>
void readout_event(hls::stream<IN_T> &spikes_in, hls::stream<bool> &frame_error,
                   hls::stream<axis_out_t> &m_axis,
                   const W_T w[CONFIG::in_c_pad][CONFIG::in_h][CONFIG::in_w][CONFIG::groups]
                              [CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 5
    static typename CONFIG::acc_t acc[CONFIG::groups][CONFIG::lanes];
#pragma HLS ARRAY_RESHAPE variable = acc complete dim = 2
    static bool clean = false; // false after ap_rst_n: sweep the accumulators first
#pragma HLS RESET variable = clean
    SNN_CSIM_RESET(clean);
    if (!clean) {
        clear_words<CONFIG::groups, CONFIG::lanes>(acc);
        clean = true;
    }
Timesteps:
    for (ap_uint<bits_for<CONFIG::timesteps>::value> t = 0; t < CONFIG::timesteps; t++) {
        SNN_CSIM_ABORT_AT(t, break);
        scatter_dense<CONFIG>(spikes_in, acc, w);
    }
    write_result<CONFIG>(acc, frame_error, m_axis);
}

// Readout fed directly by the input codes (a network that is only a readout): its current is
// the same at every timestep, so the accumulator is T times the current.
// CONFIG: classes, lanes, groups, timesteps, current_t, acc_t.
template <class CONFIG>
void readout_direct(hls::stream<lane_vec<typename CONFIG::current_t, CONFIG::lanes> > &cur_in,
                    hls::stream<bool> &frame_error, hls::stream<axis_out_t> &m_axis) {
    // every image writes all accumulators before reading them: no sweep after a reset
    static typename CONFIG::acc_t acc[CONFIG::groups][CONFIG::lanes];
#pragma HLS ARRAY_RESHAPE variable = acc complete dim = 2
Scale:
    for (ap_uint<bits_for<CONFIG::groups>::value> g = 0; g < CONFIG::groups; g++) {
#pragma HLS PIPELINE II = 1
        lane_vec<typename CONFIG::current_t, CONFIG::lanes> in = cur_in.read();
        for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
            acc[g][l] = in.v[l] * CONFIG::timesteps;
        }
    }
    write_result<CONFIG>(acc, frame_error, m_axis);
}

} // namespace snn

#endif
