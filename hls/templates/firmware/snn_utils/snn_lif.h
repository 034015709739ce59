// snn_lif.h: LIF neurons driven by the first layer's once-per-image current.
//
// Timestep 0 takes each slice's current from the stream as the current kernel produces it and
// keeps it on chip; timesteps 1..T-1 reuse it. Membranes are on-chip (static) and start each
// image at zero: timestep 0 ignores what the previous image left in them, so neither memory
// needs a sweep after a reset (snn_common.h, "Reset"). Each is one memory of wide words.
#ifndef SNN_LIF_H_
#define SNN_LIF_H_

#include "snn_common.h"

namespace snn {

// One fire pass per timestep over all neurons, `lanes` neurons (a slice) per cycle:
//   U <- U - (U >> leak_shift); U <- U + I; s = U >= threshold; U <- U - s * threshold.
// CONFIG: out_h, out_w, lanes (= out_g), groups, timesteps, threshold, leak_shift, trace_id,
//         current_t, membrane_t.
template <class CONFIG, class TOKEN_T>
void lif_direct(hls::stream<lane_vec<typename CONFIG::current_t, CONFIG::lanes> > &cur_in,
                hls::stream<TOKEN_T> &spikes_out) {
    const unsigned N = CONFIG::out_h * CONFIG::out_w * CONFIG::groups;
    const typename CONFIG::threshold_t th = CONFIG::threshold;
    static typename CONFIG::current_t cur[N][CONFIG::lanes];
    static typename CONFIG::membrane_t mem[N][CONFIG::lanes];
#pragma HLS ARRAY_RESHAPE variable = cur complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = mem complete dim = 2

Timesteps:
    for (ap_uint<bits_for<CONFIG::timesteps>::value> t = 0; t < CONFIG::timesteps; t++) {
        SNN_CSIM_ABORT_AT(t, return);
        ap_uint<bits_for<CONFIG::out_h>::value> y = 0;
        ap_uint<bits_for<CONFIG::out_w>::value> x = 0;
        ap_uint<bits_for<CONFIG::groups>::value> g = 0;
    FirePass:
        for (ap_uint<bits_for<N>::value> n = 0; n < N; n++) {
#pragma HLS PIPELINE II = 1
            // each iteration reads and writes its own neuron n: no dependence between them
#pragma HLS DEPENDENCE variable = mem inter false
#pragma HLS DEPENDENCE variable = cur inter false
            lane_vec<typename CONFIG::current_t, CONFIG::lanes> in;
            if (t == 0)
                in = cur_in.read();
            ap_uint<CONFIG::lanes> mask = 0;
            for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
                typename CONFIG::current_t i = (t == 0) ? in.v[l] : cur[n][l];
                cur[n][l] = i;
                typename CONFIG::membrane_t u =
                    (t == 0) ? typename CONFIG::membrane_t(0) : leak(mem[n][l], CONFIG::leak_shift);
                u = u + i;
                bool s = u >= th;
                if (s)
                    u = u - th;
                mem[n][l] = u;
                mask[l] = s;
            }
            if (mask != 0) {
                spikes_out.write(make_slice<TOKEN_T>(mask, y, x, g));
                SNN_TRACE_SLICE(CONFIG, t, mask);
            }
            if (g == CONFIG::groups - 1) {
                g = 0;
                if (x == CONFIG::out_w - 1) {
                    x = 0;
                    ++y;
                } else {
                    ++x;
                }
            } else {
                ++g;
            }
        }
        spikes_out.write(end_of_timestep<TOKEN_T>());
    }
}

} // namespace snn

#endif
