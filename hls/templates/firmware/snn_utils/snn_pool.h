// snn_pool.h: max pooling of binary spikes, i.e. an OR over each size x size window.
//
// Event-driven like the layers around it: each incoming slice ORs into its pooled slice, and
// only channels that become set for the first time in this timestep go out, so every pooled
// spike is sent exactly once per timestep. A per-entry timestep stamp says whether a stored mask
// belongs to the current timestep, so nothing is cleared between timesteps; the stamps are
// cleared once after the last timestep of each image. Rows and columns beyond out * size are
// dropped (floor), as in the golden model.
#ifndef SNN_POOL_H_
#define SNN_POOL_H_

#include "snn_common.h"

namespace snn {

// CONFIG: size, out_h, out_w, in_groups, out_g (= input slice width), timesteps, stamp_bits,
//         trace_id.
template <class CONFIG, class IN_T, class OUT_T>
void pool_or(hls::stream<IN_T> &spikes_in, hls::stream<OUT_T> &spikes_out) {
    typedef ap_uint<IN_T::width> mask_t;
    const unsigned ENTRIES = CONFIG::in_groups * CONFIG::out_h * CONFIG::out_w;
    static mask_t seen[ENTRIES];
    static ap_uint<CONFIG::stamp_bits> stamp[ENTRIES];

Timesteps:
    for (unsigned t = 0; t < CONFIG::timesteps; t++) {
        bool fwd_ok = false; // forwarding register: the entry written in the cycle before
        unsigned fwd_addr = 0;
        mask_t fwd_val = 0;
    Slices:
        for (;;) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = seen inter false
#pragma HLS DEPENDENCE variable = stamp inter false
            IN_T tok = spikes_in.read();
            if (tok.eot)
                break;
            unsigned py = unsigned(tok.y) / CONFIG::size, px = unsigned(tok.x) / CONFIG::size;
            if (py >= CONFIG::out_h || px >= CONFIG::out_w)
                continue;
            unsigned addr = (unsigned(tok.g) * CONFIG::out_h + py) * CONFIG::out_w + px;
            mask_t old;
            if (fwd_ok && fwd_addr == addr)
                old = fwd_val;
            else
                old = (stamp[addr] == t + 1) ? seen[addr] : mask_t(0);
            mask_t fresh = tok.mask & ~old;
            seen[addr] = old | tok.mask;
            stamp[addr] = t + 1;
            fwd_ok = true;
            fwd_addr = addr;
            fwd_val = old | tok.mask;
            if (fresh != 0) {
                spikes_out.write(make_slice<OUT_T>(fresh, py, px, tok.g));
                SNN_TRACE_SLICE(CONFIG, t, fresh);
            }
        }
        spikes_out.write(end_of_timestep<OUT_T>());
    }
ClearStamps:
    for (unsigned i = 0; i < ENTRIES; i++) {
#pragma HLS PIPELINE II = 1
        stamp[i] = 0;
    }
}

} // namespace snn

#endif
