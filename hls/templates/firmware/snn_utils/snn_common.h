// snn_common.h: stream tokens, AXI4-Stream words and small helpers shared by the SNN kernels.
//
// A spike map [C, H, W] travels between layers one timestep at a time as *slices*: a token
// carries the spikes of G channels (channel group g) at one position (y, x) as a G-bit mask.
// Only non-empty slices are sent (consumers rely on it), so the work of a spike-driven layer
// follows the spikes; a token with eot set ends the timestep. 1-D maps use y = x = 0.
//
// The library is rendered by hls/writer.py (Jinja2) like the other templates: the values in
// double braces (the forwarding depth and the dependence distance it implies) are its numbers,
// written as integer literals because HLS pragmas take literals.
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
    ap_uint<((D + 7) >> 3)> keep;
    ap_uint<((D + 7) >> 3)> strb;
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

// Bits of an unsigned counter that must hold the value N (compile-time; sizes every loop counter
// and index, so no 32-bit counter sits on a recurrence path).
template <unsigned long long N>
struct bits_for {
    static const unsigned value = N < 2 ? 1 : 1 + bits_for<(N >> 1)>::value;
};
template <>
struct bits_for<0> {
    static const unsigned value = 1;
};
template <>
struct bits_for<1> {
    static const unsigned value = 1;
};

// Read-modify-write forwarding. Membrane and pool-state updates read a memory word, add to it
// and write it back at one per cycle; the same address can come back in the next iterations
// (the next spike of a slice hits the same outputs: distance `groups`, or 1). Each such memory
// keeps a history of its last FWD_DEPTH writes (address and value) in registers, newest first;
// a read whose address is in the history takes the newest match instead of the memory word. So
// every distance up to FWD_DEPTH is served from registers, and the loop declares
// `DEPENDENCE inter RAW distance = {{ rmw_distance }} true` (FWD_DEPTH + 1, a literal from the
// writer): the tool must then keep the read-to-write latency within FWD_DEPTH + 1 cycles or
// raise the II, never silently read a stale word.
// FWD_DEPTH = 2 covers a block RAM read latency of 1 plus a registered write.
static const int FWD_DEPTH = {{ fwd_depth }};

template <class T, int L, class ADDR_T>
struct fwd_entry {
    bool ok;
    ADDR_T addr;
    T val[L];
};

// The word at `addr`: the newest matching history entry, else the memory word `mem_word`.
template <class T, int L, class ADDR_T>
inline void fwd_lookup(const fwd_entry<T, L, ADDR_T> hist[FWD_DEPTH], ADDR_T addr,
                       const T mem_word[L], T out[L]) {
    for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
        out[l] = mem_word[l];
    }
#ifndef SNN_NO_FORWARDING
    for (int d = FWD_DEPTH - 1; d >= 0; d--) { // oldest first: the newest match wins
#pragma HLS UNROLL
        if (hist[d].ok && hist[d].addr == addr) {
            for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
                out[l] = hist[d].val[l];
            }
        }
    }
#endif
}

// Record a write (shift the history, newest at 0); `evicted` gets the entry shifted out.
template <class T, int L, class ADDR_T>
inline void fwd_push(fwd_entry<T, L, ADDR_T> hist[FWD_DEPTH], ADDR_T addr, const T val[L],
                     fwd_entry<T, L, ADDR_T> &evicted) {
    evicted = hist[FWD_DEPTH - 1];
    for (int d = FWD_DEPTH - 1; d > 0; d--) {
#pragma HLS UNROLL
        hist[d] = hist[d - 1];
    }
    hist[0].ok = true;
    hist[0].addr = addr;
    for (int l = 0; l < L; l++) {
#pragma HLS UNROLL
        hist[0].val[l] = val[l];
    }
}

// C simulation of a RAM whose writes land late. Built with -DSNN_EMULATE_RAM_LATENCY, the kernels
// commit a read-modify-write to memory only when it leaves the forwarding history (FWD_DEPTH
// writes later) and flush the history at the end of the loop: every read inside that window
// sees a stale word, as a pipelined RAM would, and only the forwarding keeps the results exact.
// (With -DSNN_NO_FORWARDING as well, the lookups ignore the history: the test that shows the
// forwarding is needed.) Neither macro is ever set for synthesis.
#if defined(SNN_EMULATE_RAM_LATENCY) && !defined(__SYNTHESIS__)
#define SNN_RMW_LATE 1
#else
#define SNN_RMW_LATE 0
#endif

template <class T, int L, class ADDR_T>
inline void fwd_clear(fwd_entry<T, L, ADDR_T> hist[FWD_DEPTH]) {
    for (int d = 0; d < FWD_DEPTH; d++) {
#pragma HLS UNROLL
        hist[d].ok = false;
    }
}

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

template <class TOKEN_T, class Y_T, class X_T, class G_T>
inline TOKEN_T make_slice(ap_uint<TOKEN_T::width> mask, Y_T y, X_T x, G_T g) {
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
inline ap_uint<bits_for<G>::value> lowest_set_bit(ap_uint<G> m) {
    ap_uint<bits_for<G>::value> r = 0;
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
template <unsigned GROUPS, class OG_T, class IN_T>
inline void next_spike_group(OG_T &og, ap_uint<IN_T::width> &rem, IN_T &tok,
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

// Reset. ap_rst_n resets registers but leaves on-chip memories as they are, possibly in the
// middle of an image. So each kernel whose memories must start an image at zero (membranes, pool
// stamps, accumulators) keeps a `clean` flag that only ap_rst_n clears (#pragma HLS RESET; its
// power-up value is false too) and sweeps those memories, one word per cycle, before its first
// image after a reset: the RTL's CLEAR state after rst_n. No port is added: the top keeps the
// RTL's ports, and co-simulation of an ap_ctrl_none top wants stream ports only (UG1399).
// Memories every image overwrites before reading them (the frame, the first layer's current
// and membranes at timestep 0) need no sweep.
template <unsigned WORDS, unsigned L, class T>
void clear_words(T state[WORDS][L]) {
#pragma HLS INLINE
ClearWords:
    for (ap_uint<bits_for<WORDS>::value> i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        for (unsigned l = 0; l < L; l++) {
#pragma HLS UNROLL
            state[i][l] = 0;
        }
    }
}

#ifndef __SYNTHESIS__
// C simulation of ap_rst_n, which the C code cannot see: the test bench calls csim_reset() (every
// kernel's `clean` flag reads false at its next call, SNN_CSIM_RESET), and can cut an image off
// part way with csim().abort_at = t: every process returns at the start of its timestep t and
// no result is written (SNN_CSIM_ABORT_AT, SNN_CSIM_ABORTED), leaving each memory as a reset in
// the middle of that image would find it.
static const unsigned NO_ABORT = ~0u;
struct csim_control {
    unsigned resets;   // ap_rst_n pulses so far
    unsigned abort_at; // the timestep at which every process stops, or NO_ABORT
};
inline csim_control &csim() {
    static csim_control c = {0, NO_ABORT};
    return c;
}
inline void csim_reset() { csim().resets++; }
#define SNN_CSIM_RESET(flag)                                                                       \
    {                                                                                              \
        static unsigned seen_resets = 0;                                                           \
        if (seen_resets != snn::csim().resets) {                                                   \
            seen_resets = snn::csim().resets;                                                      \
            flag = false;                                                                          \
        }                                                                                          \
    }
#define SNN_CSIM_ABORT_AT(t, stmt)                                                                 \
    if (unsigned(t) == snn::csim().abort_at)                                                       \
    stmt
#define SNN_CSIM_ABORTED(stmt)                                                                     \
    if (snn::csim().abort_at != snn::NO_ABORT)                                                     \
    stmt
#else
#define SNN_CSIM_RESET(flag)
#define SNN_CSIM_ABORT_AT(t, stmt)
#define SNN_CSIM_ABORTED(stmt)
#endif

// The class word on m_axis: the class, with bit 31 set when the image's input frame was
// malformed (TLAST early or late; docs/ARCHITECTURE.md, "Interfaces").
static const unsigned FRAME_ERROR_BIT = 31;

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
