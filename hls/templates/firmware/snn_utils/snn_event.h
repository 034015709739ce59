// snn_event.h: spike-driven LIF layers. Each input spike adds its weights: no multipliers.
//
// Per timestep a layer runs two pipelined loops:
//   scatter: for each input spike (one set bit of a slice), for each output group, `lanes`
//            output channels at once add their weight (a conv updates all kernel^2 taps at once);
//   fire:    one pass over the membranes, `lanes` neurons per cycle, that fires, soft-resets and
//            applies the leak for the next timestep (cleared to 0 after the last timestep, so the
//            next image starts from zero).
// Storing leak(U) ahead of time lets the scatter add straight into the membrane; every partial
// sum stays inside the interval-analysis range of the membrane (quant/widths.py).
#ifndef SNN_EVENT_H_
#define SNN_EVENT_H_

#include "snn_common.h"

namespace snn {

// Fire, soft reset, then leak (or clear after the last timestep) of one membrane value.
template <class MEM_T, class TH_T>
inline bool fire_and_leak(MEM_T &u, TH_T th, unsigned leak_shift, bool last_timestep) {
    bool s = u >= th;
    MEM_T v = u;
    if (s)
        v = v - th;
    u = last_timestep ? MEM_T(0) : leak(v, leak_shift);
    return s;
}

// Spiking convolution (stride 1). The membranes of a conv are split into kernel x kernel banks by
// (oy % kernel, ox % kernel): the kernel^2 outputs one input spike touches lie in distinct banks,
// so all taps update in the same cycle.
// CONFIG: in_g, in_h, in_w, in_c_pad, out_h, out_w, kernel, pad, lanes (= out_g), groups,
//         bank_h, bank_w, timesteps, threshold, leak_shift, trace_id, weight_t, membrane_t.
// Weights are laid out [input channel][group][ky][kx][lane].
template <class CONFIG, class IN_T, class OUT_T, class W_T>
void conv_event(hls::stream<IN_T> &spikes_in, hls::stream<OUT_T> &spikes_out,
                const W_T w[CONFIG::in_c_pad][CONFIG::groups][CONFIG::kernel][CONFIG::kernel]
                           [CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
#pragma HLS ARRAY_PARTITION variable = w complete dim = 4
#pragma HLS ARRAY_PARTITION variable = w complete dim = 5
    typedef typename CONFIG::membrane_t mem_t;
    const int K = CONFIG::kernel;
    const unsigned L = CONFIG::lanes;
    const unsigned BANK_WORDS = CONFIG::groups * CONFIG::bank_h * CONFIG::bank_w;
    const typename CONFIG::threshold_t th = CONFIG::threshold;
    static mem_t mem[CONFIG::kernel][CONFIG::kernel][BANK_WORDS][CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 1
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 2
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 4

Timesteps:
    for (unsigned t = 0; t < CONFIG::timesteps; t++) {
        // Forwarding registers, one per bank: the last address written and its lanes, so a spike
        // that hits the same address as the one before reads the new value (II=1 with RAW).
        bool fwd_ok[CONFIG::kernel][CONFIG::kernel];
        unsigned fwd_addr[CONFIG::kernel][CONFIG::kernel];
        mem_t fwd_val[CONFIG::kernel][CONFIG::kernel][CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = fwd_ok complete dim = 0
#pragma HLS ARRAY_PARTITION variable = fwd_addr complete dim = 0
#pragma HLS ARRAY_PARTITION variable = fwd_val complete dim = 0
        for (int by = 0; by < K; by++)
            for (int bx = 0; bx < K; bx++)
                fwd_ok[by][bx] = false;

        // Slices are never empty (producers only send slices with a spike), so the cycle that
        // finishes a slice also fetches the next one: scatter cycles = spikes x groups + 1.
        IN_T tok = spikes_in.read();
        ap_uint<IN_T::width> rem = tok.mask;
        unsigned og = 0;
    Scatter:
        while (!tok.eot) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = mem inter false
            // the input spike at iy reaches outputs oy = iy + pad - ky, ky in 0..K-1
            const int qy = (int(tok.y) + CONFIG::pad) / K, ry = (int(tok.y) + CONFIG::pad) % K;
            const int qx = (int(tok.x) + CONFIG::pad) / K, rx = (int(tok.x) + CONFIG::pad) % K;
            unsigned c = unsigned(tok.g) * IN_T::width + lowest_set_bit<IN_T::width>(rem);
        Banks:
            for (int by = 0; by < K; by++) {
#pragma HLS UNROLL
                for (int bx = 0; bx < K; bx++) {
#pragma HLS UNROLL
                    // the one tap of this spike whose output lies in bank (by, bx)
                    int yb = (by <= ry) ? qy : qy - 1;
                    int ky = (by <= ry) ? ry - by : ry + K - by;
                    int xb = (bx <= rx) ? qx : qx - 1;
                    int kx = (bx <= rx) ? rx - bx : rx + K - bx;
                    int oy = yb * K + by, ox = xb * K + bx;
                    if (yb < 0 || xb < 0 || oy >= int(CONFIG::out_h) || ox >= int(CONFIG::out_w))
                        continue;
                    unsigned addr = (og * CONFIG::bank_h + yb) * CONFIG::bank_w + xb;
                    bool hit = fwd_ok[by][bx] && fwd_addr[by][bx] == addr;
                    for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
                        mem_t old = hit ? fwd_val[by][bx][l] : mem[by][bx][addr][l];
                        mem_t now = old + typename CONFIG::weight_t(w[c][og][ky][kx][l]);
                        mem[by][bx][addr][l] = now;
                        fwd_val[by][bx][l] = now;
                    }
                    fwd_ok[by][bx] = true;
                    fwd_addr[by][bx] = addr;
                }
            }
            next_spike_group<CONFIG::groups>(og, rem, tok, spikes_in);
        }

        bool last = (t == CONFIG::timesteps - 1);
        unsigned oy = 0, ox = 0, g = 0;
    Fire:
        for (unsigned n = 0; n < CONFIG::out_h * CONFIG::out_w * CONFIG::groups; n++) {
#pragma HLS PIPELINE II = 1
            unsigned addr = (g * CONFIG::bank_h + oy / K) * CONFIG::bank_w + ox / K;
            ap_uint<CONFIG::lanes> mask = 0;
            for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
                mem_t u = mem[oy % K][ox % K][addr][l];
                mask[l] = fire_and_leak(u, th, CONFIG::leak_shift, last);
                mem[oy % K][ox % K][addr][l] = u;
            }
            if (mask != 0) {
                spikes_out.write(make_slice<OUT_T>(mask, oy, ox, g));
                SNN_TRACE_SLICE(CONFIG, t, mask);
            }
            if (++g == CONFIG::groups) {
                g = 0;
                if (++ox == CONFIG::out_w) {
                    ox = 0;
                    ++oy;
                }
            }
        }
        spikes_out.write(end_of_timestep<OUT_T>());
    }
}

// Scatter of one timestep into a dense layer's state (membranes or readout accumulators):
// spike j = (c * in_h + y) * in_w + x (C-order flatten) adds w[j][group][lane].
// CONFIG: in_h, in_w, n_in_pad, lanes, groups, weight_t. Returns at the end-of-timestep token.
template <class CONFIG, class IN_T, class STATE_T, class W_T>
void scatter_dense(hls::stream<IN_T> &spikes_in, STATE_T state[CONFIG::groups][CONFIG::lanes],
                   const W_T w[CONFIG::n_in_pad][CONFIG::groups][CONFIG::lanes]) {
    IN_T tok = spikes_in.read(); // slices are never empty: see conv_event
    ap_uint<IN_T::width> rem = tok.mask;
    unsigned og = 0;
Scatter:
    while (!tok.eot) {
#pragma HLS PIPELINE II = 1
        unsigned c = unsigned(tok.g) * IN_T::width + lowest_set_bit<IN_T::width>(rem);
        unsigned j = (c * CONFIG::in_h + unsigned(tok.y)) * CONFIG::in_w + unsigned(tok.x);
        for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
            state[og][l] = state[og][l] + typename CONFIG::weight_t(w[j][og][l]);
        }
        next_spike_group<CONFIG::groups>(og, rem, tok, spikes_in);
    }
}

// Spiking dense layer: output slices are channel groups of a 1-D map (y = x = 0).
// CONFIG: in_h, in_w, n_in_pad, lanes (= out_g), groups, timesteps, threshold, leak_shift,
//         trace_id, weight_t, membrane_t. Weights are laid out [input][group][lane].
template <class CONFIG, class IN_T, class OUT_T, class W_T>
void dense_event(hls::stream<IN_T> &spikes_in, hls::stream<OUT_T> &spikes_out,
                 const W_T w[CONFIG::n_in_pad][CONFIG::groups][CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
    typedef typename CONFIG::membrane_t mem_t;
    const typename CONFIG::threshold_t th = CONFIG::threshold;
    static mem_t mem[CONFIG::groups][CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 2

Timesteps:
    for (unsigned t = 0; t < CONFIG::timesteps; t++) {
        scatter_dense<CONFIG>(spikes_in, mem, w);
        bool last = (t == CONFIG::timesteps - 1);
    Fire:
        for (unsigned g = 0; g < CONFIG::groups; g++) {
#pragma HLS PIPELINE II = 1
            ap_uint<CONFIG::lanes> mask = 0;
            for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
                mask[l] = fire_and_leak(mem[g][l], th, CONFIG::leak_shift, last);
            }
            if (mask != 0) {
                spikes_out.write(make_slice<OUT_T>(mask, 0, 0, g));
                SNN_TRACE_SLICE(CONFIG, t, mask);
            }
        }
        spikes_out.write(end_of_timestep<OUT_T>());
    }
}

} // namespace snn

#endif
