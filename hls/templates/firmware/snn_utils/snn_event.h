// snn_event.h: spike-driven LIF layers. Each input spike adds its weights: no multipliers.
//
// Per timestep a layer runs two pipelined loops:
//   scatter: for each input spike (one set bit of a slice), for each output group, `lanes`
//            output channels at once add their weight (a conv updates all kernel^2 taps at once);
//   fire:    one pass over the membranes, `lanes` neurons per cycle, that fires, soft-resets and
//            applies the leak for the next timestep (cleared to 0 after the last timestep, so the
//            next image starts from zero).
// Storing leak(U) ahead of time lets the scatter add straight into the membrane; every partial
// sum stays inside the interval-analysis range of the membrane (core/widths.py).
//
// Read-modify-write distances (docs/ARCHITECTURE.md): in a scatter the same membrane word comes
// back `groups` iterations later (the next spike of the slice, same output group), or in the
// next iteration when groups = 1, and at any larger distance after that; the forwarding history
// (snn_common.h, FWD_DEPTH) serves every distance up to FWD_DEPTH and the loop declares the
// dependence true at FWD_DEPTH + 1. In a fire pass every iteration owns its word: no dependence.
//
// Membranes are swept to zero before the first image after a reset (snn_common.h, "Reset").
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
// (oy mod kernel, ox mod kernel): the kernel^2 outputs one input spike touches lie in distinct
// banks, so all taps update in the same cycle. An input row y reaches the bank rows through
// qy = (y + pad) / kernel and ry = (y + pad) mod kernel, read from CONFIG's constant tables
// (qy_of, ry_of; likewise for columns), and the fire pass carries quotient/remainder counters.
// CONFIG: in_g, in_h, in_w, in_c_pad, out_h, out_w, kernel, pad, lanes (= out_g), groups,
//         bank_h, bank_w, timesteps, threshold, leak_shift, trace_id, scatter_max, scatter_avg,
//         qy_of, ry_of, qx_of, rx_of, weight_t, membrane_t, threshold_t.
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
    const unsigned FIRE = CONFIG::out_h * CONFIG::out_w * CONFIG::groups;
    typedef ap_uint<bits_for<BANK_WORDS>::value> addr_t;
    typedef ap_uint<bits_for<K>::value> tap_t;
    const typename CONFIG::threshold_t th = CONFIG::threshold;
    // k x k banks, each one memory of BANK_WORDS words of `lanes` membranes (as in the RTL)
    static mem_t mem[CONFIG::kernel][CONFIG::kernel][BANK_WORDS][CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 1
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 2
#pragma HLS ARRAY_RESHAPE variable = mem complete dim = 4
    static bool clean = false; // false after ap_rst_n: sweep the membranes first
#pragma HLS RESET variable = clean
    SNN_CSIM_RESET(clean);
    if (!clean) {
    ClearMembranes:
        for (addr_t a = 0; a < BANK_WORDS; a++) {
#pragma HLS PIPELINE II = 1
            for (int by = 0; by < K; by++) {
#pragma HLS UNROLL
                for (int bx = 0; bx < K; bx++) {
#pragma HLS UNROLL
                    for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
                        mem[by][bx][a][l] = 0;
                    }
                }
            }
        }
        clean = true;
    }

Timesteps:
    for (ap_uint<bits_for<CONFIG::timesteps>::value> t = 0; t < CONFIG::timesteps; t++) {
        SNN_CSIM_ABORT_AT(t, return);
        fwd_entry<mem_t, CONFIG::lanes, addr_t> hist[CONFIG::kernel][CONFIG::kernel][FWD_DEPTH];
#pragma HLS ARRAY_PARTITION variable = hist complete dim = 0
    ClearHistory:
        for (int by = 0; by < K; by++) {
#pragma HLS UNROLL
            for (int bx = 0; bx < K; bx++) {
#pragma HLS UNROLL
                fwd_clear(hist[by][bx]);
            }
        }

        // Slices are never empty (producers only send slices with a spike), so the cycle that
        // finishes a slice also fetches the next one: scatter cycles = spikes x groups + 1.
        IN_T tok = spikes_in.read();
        ap_uint<IN_T::width> rem = tok.mask;
        ap_uint<bits_for<CONFIG::groups>::value> og = 0;
    Scatter:
        while (!tok.eot) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 0 max = CONFIG::scatter_max avg = CONFIG::scatter_avg
#pragma HLS DEPENDENCE variable = mem inter RAW distance = {{ rmw_distance }} true
            // the input spike at iy reaches outputs oy = iy + pad - ky, ky in 0..K-1
            const int qy = CONFIG::qy_of(tok.y), ry = CONFIG::ry_of(tok.y);
            const int qx = CONFIG::qx_of(tok.x), rx = CONFIG::rx_of(tok.x);
            const ap_uint<bits_for<CONFIG::in_c_pad>::value> c =
                tok.g * IN_T::width + lowest_set_bit<IN_T::width>(rem);
            // all k x k taps of (c, og) at once, with constant indices; each bank picks its tap
            W_T taps[CONFIG::kernel][CONFIG::kernel][CONFIG::lanes];
#pragma HLS ARRAY_PARTITION variable = taps complete dim = 0
            for (int ky = 0; ky < K; ky++) {
#pragma HLS UNROLL
                for (int kx = 0; kx < K; kx++) {
#pragma HLS UNROLL
                    for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
                        taps[ky][kx][l] = w[c][og][ky][kx][l];
                    }
                }
            }
        Banks:
            for (int by = 0; by < K; by++) {
#pragma HLS UNROLL
                for (int bx = 0; bx < K; bx++) {
#pragma HLS UNROLL
                    // the one tap of this spike whose output lies in bank (by, bx)
                    const int yb = (by <= ry) ? qy : qy - 1;
                    const tap_t ky = (by <= ry) ? ry - by : ry + K - by;
                    const int xb = (bx <= rx) ? qx : qx - 1;
                    const tap_t kx = (bx <= rx) ? rx - bx : rx + K - bx;
                    const int oy = yb * K + by, ox = xb * K + bx;
                    if (yb < 0 || xb < 0 || oy >= int(CONFIG::out_h) || ox >= int(CONFIG::out_w))
                        continue;
                    const addr_t addr = (og * CONFIG::bank_h + yb) * CONFIG::bank_w + xb;
                    mem_t old[CONFIG::lanes], now[CONFIG::lanes];
                    fwd_lookup<mem_t, CONFIG::lanes, addr_t>(hist[by][bx], addr,
                                                             mem[by][bx][addr], old);
                    for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
                        now[l] = old[l] + typename CONFIG::weight_t(taps[ky][kx][l]);
                        if (!SNN_RMW_LATE)
                            mem[by][bx][addr][l] = now[l];
                    }
                    fwd_entry<mem_t, CONFIG::lanes, addr_t> ev;
                    fwd_push<mem_t, CONFIG::lanes, addr_t>(hist[by][bx], addr, now, ev);
                    if (SNN_RMW_LATE && ev.ok)
                        for (unsigned l = 0; l < L; l++)
                            mem[by][bx][ev.addr][l] = ev.val[l];
                }
            }
            next_spike_group<CONFIG::groups>(og, rem, tok, spikes_in);
        }
#if SNN_RMW_LATE
        for (int by = 0; by < K; by++)
            for (int bx = 0; bx < K; bx++)
                for (int d = FWD_DEPTH - 1; d >= 0; d--)
                    if (hist[by][bx][d].ok)
                        for (unsigned l = 0; l < L; l++)
                            mem[by][bx][hist[by][bx][d].addr][l] = hist[by][bx][d].val[l];
#endif

        const bool last = (t == CONFIG::timesteps - 1);
        // (oy, ox) as quotient / remainder counters by the kernel: bank (ry, rx), word (qy, qx)
        ap_uint<bits_for<CONFIG::out_h>::value> oy = 0;
        ap_uint<bits_for<CONFIG::out_w>::value> ox = 0;
        ap_uint<bits_for<CONFIG::bank_h>::value> qy = 0;
        ap_uint<bits_for<CONFIG::bank_w>::value> qx = 0;
        tap_t ry = 0, rx = 0;
        ap_uint<bits_for<CONFIG::groups>::value> g = 0;
    Fire:
        for (ap_uint<bits_for<FIRE>::value> n = 0; n < FIRE; n++) {
#pragma HLS PIPELINE II = 1
            // every iteration reads and writes its own membrane word: truly no dependence
#pragma HLS DEPENDENCE variable = mem inter false
            const addr_t addr = (g * CONFIG::bank_h + qy) * CONFIG::bank_w + qx;
            ap_uint<CONFIG::lanes> mask = 0;
            for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
                mem_t u = mem[ry][rx][addr][l];
                mask[l] = fire_and_leak(u, th, CONFIG::leak_shift, last);
                mem[ry][rx][addr][l] = u;
            }
            if (mask != 0) {
                spikes_out.write(make_slice<OUT_T>(mask, oy, ox, g));
                SNN_TRACE_SLICE(CONFIG, t, mask);
            }
            if (g == CONFIG::groups - 1) {
                g = 0;
                if (ox == CONFIG::out_w - 1) {
                    ox = 0;
                    qx = 0;
                    rx = 0;
                    ++oy;
                    if (ry == K - 1) {
                        ry = 0;
                        ++qy;
                    } else {
                        ++ry;
                    }
                } else {
                    ++ox;
                    if (rx == K - 1) {
                        rx = 0;
                        ++qx;
                    } else {
                        ++rx;
                    }
                }
            } else {
                ++g;
            }
        }
        spikes_out.write(end_of_timestep<OUT_T>());
    }
}

// Scatter of one timestep into a dense layer's state (membranes or readout accumulators): an
// input spike at (c, y, x) adds w[c][y][x][group][lane]. The same state word recurs at distance
// `groups` (1 when groups = 1): forwarded as in conv_event.
// CONFIG: in_c_pad, in_h, in_w, lanes, groups, weight_t, scatter_max, scatter_avg.
// Returns at the end-of-timestep token.
template <class CONFIG, class IN_T, class STATE_T, class W_T>
void scatter_dense(hls::stream<IN_T> &spikes_in, STATE_T state[CONFIG::groups][CONFIG::lanes],
                   const W_T w[CONFIG::in_c_pad][CONFIG::in_h][CONFIG::in_w][CONFIG::groups]
                              [CONFIG::lanes]) {
    typedef ap_uint<bits_for<CONFIG::groups>::value> og_t;
    fwd_entry<STATE_T, CONFIG::lanes, og_t> hist[FWD_DEPTH];
#pragma HLS ARRAY_PARTITION variable = hist complete dim = 0
    fwd_clear(hist);
    IN_T tok = spikes_in.read(); // slices are never empty: see conv_event
    ap_uint<IN_T::width> rem = tok.mask;
    og_t og = 0;
Scatter:
    while (!tok.eot) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 0 max = CONFIG::scatter_max avg = CONFIG::scatter_avg
#pragma HLS DEPENDENCE variable = state inter RAW distance = {{ rmw_distance }} true
        const ap_uint<bits_for<CONFIG::in_c_pad>::value> c =
            tok.g * IN_T::width + lowest_set_bit<IN_T::width>(rem);
        STATE_T old[CONFIG::lanes], now[CONFIG::lanes];
        fwd_lookup<STATE_T, CONFIG::lanes, og_t>(hist, og, state[og], old);
        for (unsigned l = 0; l < CONFIG::lanes; l++) {
#pragma HLS UNROLL
            now[l] = old[l] + typename CONFIG::weight_t(w[c][tok.y][tok.x][og][l]);
            if (!SNN_RMW_LATE)
                state[og][l] = now[l];
        }
        fwd_entry<STATE_T, CONFIG::lanes, og_t> ev;
        fwd_push<STATE_T, CONFIG::lanes, og_t>(hist, og, now, ev);
        if (SNN_RMW_LATE && ev.ok)
            for (unsigned l = 0; l < CONFIG::lanes; l++)
                state[ev.addr][l] = ev.val[l];
        next_spike_group<CONFIG::groups>(og, rem, tok, spikes_in);
    }
#if SNN_RMW_LATE
    for (int d = FWD_DEPTH - 1; d >= 0; d--)
        if (hist[d].ok)
            for (unsigned l = 0; l < CONFIG::lanes; l++)
                state[hist[d].addr][l] = hist[d].val[l];
#endif
}

// Spiking dense layer: output slices are channel groups of a 1-D map (y = x = 0).
// CONFIG: in_c_pad, in_h, in_w, lanes (= out_g), groups, timesteps, threshold, leak_shift,
//         trace_id, scatter_max, scatter_avg, weight_t, membrane_t, threshold_t.
// Weights are laid out [input channel][y][x][group][lane].
template <class CONFIG, class IN_T, class OUT_T, class W_T>
void dense_event(hls::stream<IN_T> &spikes_in, hls::stream<OUT_T> &spikes_out,
                 const W_T w[CONFIG::in_c_pad][CONFIG::in_h][CONFIG::in_w][CONFIG::groups]
                            [CONFIG::lanes]) {
#pragma HLS ARRAY_PARTITION variable = w complete dim = 5
    typedef typename CONFIG::membrane_t mem_t;
    const typename CONFIG::threshold_t th = CONFIG::threshold;
    static mem_t mem[CONFIG::groups][CONFIG::lanes];
#pragma HLS ARRAY_RESHAPE variable = mem complete dim = 2
    static bool clean = false; // false after ap_rst_n: sweep the membranes first
#pragma HLS RESET variable = clean
    SNN_CSIM_RESET(clean);
    if (!clean) {
        clear_words<CONFIG::groups, CONFIG::lanes>(mem);
        clean = true;
    }

Timesteps:
    for (ap_uint<bits_for<CONFIG::timesteps>::value> t = 0; t < CONFIG::timesteps; t++) {
        SNN_CSIM_ABORT_AT(t, return);
        scatter_dense<CONFIG>(spikes_in, mem, w);
        const bool last = (t == CONFIG::timesteps - 1);
    Fire:
        for (ap_uint<bits_for<CONFIG::groups>::value> g = 0; g < CONFIG::groups; g++) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = mem inter false
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
