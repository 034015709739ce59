// snn_pool.h: max pooling of binary spikes, i.e. an OR over each size x size window.
//
// Event-driven like the layers around it: each incoming slice ORs into its pooled slice, and
// only channels that become set for the first time in this timestep go out, so every pooled
// spike is sent exactly once per timestep. A per-entry timestep stamp says whether a stored mask
// belongs to the current timestep, so nothing is cleared between timesteps; the stamps are
// cleared once after the last timestep of each image, and before the first image after a reset
// (snn_common.h, "Reset"). Rows and columns beyond out * size are dropped (floor), as in the
// golden model. The pooled row and column of an input position come from CONFIG's constant
// tables (py_of, px_of), not from a divider.
#ifndef SNN_POOL_H_
#define SNN_POOL_H_

#include "snn_common.h"

namespace snn {

// A stamp of 0 matches no timestep (they count from 1): the stamps' sweep, one per cycle.
template <unsigned ENTRIES, class STAMP_T>
void clear_stamps(STAMP_T stamp[ENTRIES]) {
#pragma HLS INLINE
ClearStamps:
    for (ap_uint<bits_for<ENTRIES>::value> i = 0; i < ENTRIES; i++) {
#pragma HLS PIPELINE II = 1
        stamp[i] = 0;
    }
}

// CONFIG: size, in_h, in_w, out_h, out_w, in_groups, out_g (= input slice width), timesteps,
//         stamp_bits, trace_id, slices_max, slices_avg, py_of(y), px_of(x) (out_h / out_w when
//         the row / column is cropped).
template <class CONFIG, class IN_T, class OUT_T>
void pool_or(hls::stream<IN_T> &spikes_in, hls::stream<OUT_T> &spikes_out) {
    typedef ap_uint<IN_T::width> mask_t;
    typedef ap_uint<CONFIG::stamp_bits> stamp_t;
    const unsigned ENTRIES = CONFIG::in_groups * CONFIG::out_h * CONFIG::out_w;
    typedef ap_uint<bits_for<ENTRIES>::value> addr_t;
    // state word of an entry: the mask seen in the timestep `stamp` - 1
    static mask_t seen[ENTRIES];
    static stamp_t stamp[ENTRIES];
    static bool clean = false; // false after ap_rst_n: sweep the stamps first
#pragma HLS RESET variable = clean
    SNN_CSIM_RESET(clean);
    if (!clean) {
        clear_stamps<ENTRIES>(stamp);
        clean = true;
    }

Timesteps:
    for (ap_uint<bits_for<CONFIG::timesteps>::value> t = 0; t < CONFIG::timesteps; t++) {
        SNN_CSIM_ABORT_AT(t, return);
        fwd_entry<mask_t, 1, addr_t> hist[FWD_DEPTH];
#pragma HLS ARRAY_PARTITION variable = hist complete dim = 0
        fwd_clear(hist);
        const stamp_t now = t + 1;
    Slices:
        for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = CONFIG::slices_max avg = CONFIG::slices_avg
            // the same entry recurs at any distance (slices of one window): see FWD_DEPTH
#pragma HLS DEPENDENCE variable = seen inter RAW distance = {{ rmw_distance }} true
#pragma HLS DEPENDENCE variable = stamp inter RAW distance = {{ rmw_distance }} true
            IN_T tok = spikes_in.read();
            if (tok.eot)
                break;
            const unsigned py = CONFIG::py_of(tok.y), px = CONFIG::px_of(tok.x);
            if (py >= CONFIG::out_h || px >= CONFIG::out_w)
                continue;
            const addr_t addr = (tok.g * CONFIG::out_h + py) * CONFIG::out_w + px;
            mask_t stored[1] = {(stamp[addr] == now) ? seen[addr] : mask_t(0)};
            mask_t old[1];
            fwd_lookup<mask_t, 1, addr_t>(hist, addr, stored, old);
            mask_t fresh = tok.mask & ~old[0];
            mask_t merged[1] = {mask_t(old[0] | tok.mask)};
            if (!SNN_RMW_LATE) {
                seen[addr] = merged[0];
                stamp[addr] = now;
            }
            fwd_entry<mask_t, 1, addr_t> ev;
            fwd_push<mask_t, 1, addr_t>(hist, addr, merged, ev);
            if (SNN_RMW_LATE && ev.ok) {
                seen[ev.addr] = ev.val[0];
                stamp[ev.addr] = now;
            }
            if (fresh != 0) {
                spikes_out.write(make_slice<OUT_T>(fresh, py, px, tok.g));
                SNN_TRACE_SLICE(CONFIG, t, fresh);
            }
        }
#if SNN_RMW_LATE
        for (int d = FWD_DEPTH - 1; d >= 0; d--)
            if (hist[d].ok) {
                seen[hist[d].addr] = hist[d].val[0];
                stamp[hist[d].addr] = now;
            }
#endif
        spikes_out.write(end_of_timestep<OUT_T>());
    }
    clear_stamps<ENTRIES>(stamp);
}

} // namespace snn

#endif
