// snn_common.h: stream tokens, AXI4-Stream words and small helpers shared by the SNN kernels.
//
// A spike map [C, H, W] travels between layers one timestep at a time as *slices*: a token
// carries the spikes of G channels (channel group g) at one position (y, x) as a G-bit mask.
// Only non-empty slices are sent (consumers rely on it), so the work of a spike-driven layer
// follows the spikes; a token with eot set ends the timestep. 1-D maps use y = x = 0.
#ifndef SNN_COMMON_H_
#define SNN_COMMON_H_

#include "ap_int.h"
#include "hls_stream.h"

#ifdef HIRE_SNN_NO_AP_AXI
// Plain g++ C simulation: Vivado's ap_axi_sdata.h is not on the include path, so mirror the
// fields of ap_axiu<D, 0, 0, 0> that the design uses (TDATA, TKEEP, TSTRB, TLAST).
template <int D>
struct ap_axiu_lite {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
typedef ap_axiu_lite<8> axis_in_t;
typedef ap_axiu_lite<32> axis_out_t;
#else
#include "ap_axi_sdata.h"
typedef ap_axiu<8, 0, 0, 0> axis_in_t;   // one 8-bit pixel code per beat
typedef ap_axiu<32, 0, 0, 0> axis_out_t; // class, then the accumulators (two's complement)
#endif

namespace snn {

// One slice of a timestep's spike frame (see the file comment).
template <int G, int YB, int XB, int GB>
struct spike_slice {
    static const int width = G;
    ap_uint<G> mask;
    ap_uint<YB> y;
    ap_uint<XB> x;
    ap_uint<GB> g;
    bool eot;
};

template <class TOKEN_T>
inline TOKEN_T make_slice(ap_uint<TOKEN_T::width> mask, unsigned y, unsigned x, unsigned g) {
    TOKEN_T tok;
    tok.mask = mask;
    tok.y = y;
    tok.x = x;
    tok.g = g;
    tok.eot = false;
    return tok;
}

template <class TOKEN_T>
inline TOKEN_T end_of_timestep() {
    TOKEN_T tok;
    tok.mask = 0;
    tok.y = 0;
    tok.x = 0;
    tok.g = 0;
    tok.eot = true;
    return tok;
}

// The currents of N lanes (one output channel each), one stream word per slice.
template <class T, int N>
struct lane_vec {
    T v[N];
};

// Index of the lowest set bit of a non-zero mask (a priority encoder in hardware).
template <int G>
inline unsigned lowest_set_bit(ap_uint<G> m) {
    unsigned r = 0;
    for (int i = G - 1; i >= 0; i--) {
#pragma HLS UNROLL
        if (m[i])
            r = i;
    }
    return r;
}

// Advance a scatter loop by one (spike, output group) step: after the last group, clear the
// spike just handled and, when the slice has no spike left, fetch the next slice (slices are
// never empty, so the fetching cycle is also the first cycle of the next slice).
template <unsigned GROUPS, class IN_T>
inline void next_spike_group(unsigned &og, ap_uint<IN_T::width> &rem, IN_T &tok,
                             hls::stream<IN_T> &spikes_in) {
    if (og == GROUPS - 1) {
        og = 0;
        rem &= ap_uint<IN_T::width>(rem - 1);
        if (rem == 0) {
            tok = spikes_in.read();
            rem = tok.mask;
        }
    } else {
        ++og;
    }
}

// Membrane leak U - (U >> k): an arithmetic shift, i.e. floor (docs/ARCHITECTURE.md).
template <class MEM_T>
inline MEM_T leak(MEM_T u, unsigned k) {
    return u - (u >> k);
}

#ifndef __SYNTHESIS__
// C simulation only: tokens and spikes written per stream and timestep, read by the test bench.
static const unsigned TRACE_MAX_STREAMS = 64;
static const unsigned TRACE_MAX_T = 1024;
inline long *trace_counter(unsigned stream, unsigned t, unsigned what) {
    static long counts[TRACE_MAX_STREAMS][TRACE_MAX_T][2];
    return &counts[stream][t][what];
}
template <int G>
inline void trace_slice(unsigned stream, unsigned t, ap_uint<G> mask) {
    unsigned n = 0;
    for (int i = 0; i < G; i++)
        n += mask[i];
    *trace_counter(stream, t, 0) += 1;
    *trace_counter(stream, t, 1) += n;
}
#define SNN_TRACE_SLICE(CONFIG, t, mask) snn::trace_slice<CONFIG::out_g>(CONFIG::trace_id, t, mask)
#else
#define SNN_TRACE_SLICE(CONFIG, t, mask)
#endif

} // namespace snn

#endif
