// The fused LIF kernel of quant/fused_lif.py (its docstring says why and how); built with
// torch.utils.cpp_extension.load, cached per machine. Same float32 operations in the same
// order as quant/lif.py's _LIFSequence: compile with -ffp-contract=off, never fast-math.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

constexpr float kPi = 3.14159265358979323846f;

// A frame is N x C x H x W neurons stored NCHW or NHWC (channels-last); a tensor of T frames
// stores them one after another. Work is split into tiles of neurons that run all T timesteps:
//   pool 1:        runs of 1024 neurons of the flat frame (layout does not matter)
//   pool k, NCHW:  one (n, c) plane of H x W neurons
//   pool k, NHWC:  one band of k rows (W x C neurons each) of one image; a last band of fewer
//                  rows (H not a multiple of k) is run but not pooled, as max_pool2d drops it.
struct Geo {
  int64_t T, N, C, H, W, Ho, Wo, pool, S, OS, P, tile, bands;
  bool direct, nhwc, flat;
};

struct Tile {
  int64_t off, len, out_off, rows;
  bool pooled;
};

Geo make_geo(int64_t T, bool direct, int64_t N, int64_t C, int64_t H, int64_t W, bool nhwc,
             int64_t pool) {
  Geo g;
  g.T = T; g.direct = direct; g.N = N; g.C = C; g.H = H; g.W = W; g.nhwc = nhwc;
  g.pool = pool;
  g.S = N * C * H * W;
  g.flat = pool <= 1;
  g.Ho = g.flat ? H : H / pool;
  g.Wo = g.flat ? W : W / pool;
  g.OS = N * C * g.Ho * g.Wo;
  g.bands = 0;
  if (g.flat) {
    g.tile = 1024;
    g.P = (g.S + g.tile - 1) / g.tile;
  } else if (!nhwc) {
    g.tile = H * W;
    g.P = N * C;
  } else {
    g.bands = (H + pool - 1) / pool;
    g.tile = pool * W * C;
    g.P = N * g.bands;
  }
  return g;
}

inline Tile tile_of(const Geo& g, int64_t p) {
  Tile t;
  if (g.flat) {
    t.off = p * g.tile;
    t.len = std::min(g.tile, g.S - t.off);
    t.out_off = t.off; t.rows = 1; t.pooled = false;
  } else if (!g.nhwc) {
    t.off = p * g.tile; t.len = g.tile;
    t.out_off = p * g.Ho * g.Wo; t.rows = g.H; t.pooled = true;
  } else {
    const int64_t n = p / g.bands, b = p % g.bands, r0 = b * g.pool;
    t.rows = std::min(g.pool, g.H - r0);
    t.off = (n * g.H + r0) * g.W * g.C;
    t.len = t.rows * g.W * g.C;
    t.pooled = b < g.Ho;
    t.out_off = (n * g.Ho + b) * g.Wo * g.C;
  }
  return t;
}

struct LIFParams {
  float th, lsb, inv, div;  // inv = 1/div when that is exact (div a power of two), else divide
  bool quant, mul;
  float leak;               // 1 - 2^-k, for the backward
  int surrogate;            // 0 pwl, 1 fast-sigmoid, 2 atan
};

LIFParams make_params(double th, double lsb, int64_t leak_shift, int64_t surrogate_kind) {
  LIFParams p;
  p.th = (float)th;
  p.quant = lsb > 0;
  const double step = std::ldexp(1.0, (int)leak_shift);
  const double div = p.quant ? lsb * step : step;
  p.div = (float)div;
  int e;
  const double m = std::frexp(div, &e);
  p.mul = (m == 0.5) && ((double)(float)div == div);  // x / 2^j == x * 2^-j exactly
  p.inv = p.mul ? (float)(1.0 / div) : 0.0f;
  p.lsb = (float)lsb;
  p.leak = (float)(1.0 - 1.0 / step);
  p.surrogate = (int)surrogate_kind;
  return p;
}

// The leak, as quant/lif.py: u - floor(u / (lsb 2^k)) lsb on the grid, u - u / 2^k in float.
template <bool Q, bool MUL>
inline float leak_step(float u, float inv, float div, float lsb) {
  if (Q) {
    const float q = MUL ? u * inv : u / div;
    return u - std::floor(q) * lsb;
  }
  return u - (MUL ? u * inv : u / div);
}

template <int KIND>
inline float surrogate(float z) {
  if (KIND == 0) {
    const float a = 1.0f - std::fabs(z);
    return 0.3f * (a > 0.0f ? a : 0.0f);
  } else if (KIND == 1) {
    const float d = 1.0f + 10.0f * std::fabs(z);
    return 1.0f / (d * d);
  }
  const float pz = kPi * z;
  return 1.0f / (1.0f + pz * pz);
}

// One timestep on L neurons: u <- leak(u) + c; spike s = u >= th; u <- u - s th. With `upre`,
// the membrane before the spike decision is stored instead of the spike. One loop per template
// case, so that each vectorizes.
template <bool Q, bool MUL>
void step_tile(float* __restrict u, float* __restrict s, float* __restrict upre,
               const float* __restrict c, int64_t L, float th, float inv, float div, float lsb) {
  if (upre) {
    for (int64_t i = 0; i < L; ++i) {
      float v = leak_step<Q, MUL>(u[i], inv, div, lsb);
      v = v + c[i];
      upre[i] = v;
      const float sp = (v >= th) ? 1.0f : 0.0f;
      u[i] = v - sp * th;
    }
  } else {
    for (int64_t i = 0; i < L; ++i) {
      float v = leak_step<Q, MUL>(u[i], inv, div, lsb);
      v = v + c[i];
      const float sp = (v >= th) ? 1.0f : 0.0f;
      s[i] = sp;
      u[i] = v - sp * th;
    }
  }
}

void step_dispatch(const LIFParams& p, float* u, float* s, float* upre, const float* c,
                   int64_t L) {
  if (p.quant) {
    if (p.mul) step_tile<true, true>(u, s, upre, c, L, p.th, p.inv, p.div, p.lsb);
    else step_tile<true, false>(u, s, upre, c, L, p.th, p.inv, p.div, p.lsb);
  } else {
    if (p.mul) step_tile<false, true>(u, s, upre, c, L, p.th, p.inv, p.div, p.lsb);
    else step_tile<false, false>(u, s, upre, c, L, p.th, p.inv, p.div, p.lsb);
  }
}

// One timestep of the backward (the BPTT of quant/lif.py's _LIFSequence) on L neurons. The
// threshold's gradient is summed per neuron (a reduction across neurons here would not
// vectorize under strict IEEE order) and over neurons at the end of the tile, in double.
template <int KIND>
void back_tile(const float* __restrict ut, const float* __restrict gs, float* __restrict gpost,
               float* __restrict gout, bool accumulate, float* __restrict acc_a,
               float* __restrict acc_b, int64_t L, float th, float leak) {
  const float inv_th = 1.0f / th;  // x * (1/th) for x / th: within an ulp, and 2-4x cheaper
  for (int64_t i = 0; i < L; ++i) {
    const float u = ut[i];
    const float sg = surrogate<KIND>(u * inv_th - 1.0f);
    const float gp = gpost[i];
    const float g_s = gp * (-th) + gs[i];
    const float g_pre = gp + g_s * sg * inv_th;
    const float sp = (u >= th) ? 1.0f : 0.0f;
    acc_a[i] += gp * sp;
    acc_b[i] += g_s * sg * u;
    gout[i] = accumulate ? gout[i] + g_pre : g_pre;
    gpost[i] = g_pre * leak;
  }
}

void back_dispatch(const LIFParams& p, const float* ut, const float* gs, float* gpost,
                   float* gout, bool accumulate, float* acc_a, float* acc_b, int64_t L) {
  if (p.surrogate == 0) back_tile<0>(ut, gs, gpost, gout, accumulate, acc_a, acc_b, L, p.th, p.leak);
  else if (p.surrogate == 1) back_tile<1>(ut, gs, gpost, gout, accumulate, acc_a, acc_b, L, p.th, p.leak);
  else back_tile<2>(ut, gs, gpost, gout, accumulate, acc_a, acc_b, L, p.th, p.leak);
}

// Sum in double over 8 interleaved lanes, then the lanes: a fixed order (the same result for
// any thread count) that vectorizes; one strict left-to-right chain per tile cost ~2 ms a call.
double sum_lanes(const float* __restrict a, int64_t L) {
  double lane[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  int64_t i = 0;
  for (; i + 8 <= L; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] += (double)a[i + k];
  for (int k = 0; i < L; ++i, ++k) lane[k] += (double)a[i];
  double s = 0.0;
  for (int k = 0; k < 8; ++k) s += lane[k];
  return s;
}

inline uint32_t bits(float x) { uint32_t v; std::memcpy(&v, &x, 4); return v; }
inline float from_bits(uint32_t v) { float x; std::memcpy(&x, &v, 4); return x; }

// OR pooling of one tile's spikes (0/1): the max over each k x k window, stride k.
void pool_forward(const float* __restrict s, float* __restrict out, const Geo& g) {
  const int64_t k = g.pool, W = g.W;
  if (g.nhwc) {  // one band of k rows: windows side by side, channels innermost
    const int64_t C = g.C;
    for (int64_t ow = 0; ow < g.Wo; ++ow) {
      float* o = out + ow * C;
      for (int64_t c = 0; c < C; ++c) o[c] = 0.0f;
      for (int64_t dh = 0; dh < k; ++dh) {
        for (int64_t dw = 0; dw < k; ++dw) {
          const float* src = s + (dh * W + ow * k + dw) * C;
          for (int64_t c = 0; c < C; ++c) o[c] = std::max(o[c], src[c]);
        }
      }
    }
    return;
  }
  for (int64_t oh = 0; oh < g.Ho; ++oh) {  // one H x W plane
    float* o = out + oh * g.Wo;
    if (k == 2) {
      const float* r0 = s + (2 * oh) * W;
      const float* r1 = r0 + W;
      for (int64_t ow = 0; ow < g.Wo; ++ow)
        o[ow] = std::max(std::max(r0[2 * ow], r0[2 * ow + 1]), std::max(r1[2 * ow], r1[2 * ow + 1]));
      continue;
    }
    for (int64_t ow = 0; ow < g.Wo; ++ow) {
      float m = 0.0f;
      for (int64_t dh = 0; dh < k; ++dh) {
        const float* row = s + (oh * k + dh) * W + ow * k;
        for (int64_t dw = 0; dw < k; ++dw) m = std::max(m, row[dw]);
      }
      o[ow] = m;
    }
  }
}

// The pooled gradient `go` back to the tile's neurons `gs`, as max_pool2d's backward routes it:
// to the first neuron of each window (row-major) that spiked (u_pre >= th), the window's first
// neuron if none did; zero elsewhere. Branch-free: spike patterns do not predict.
void pool_route(const float* __restrict ut, float th, const float* __restrict go,
                float* __restrict gs, uint32_t* __restrict found, const Geo& g, const Tile& t) {
  const int64_t k = g.pool, W = g.W;
  if (g.nhwc) {
    const int64_t C = g.C;
    std::fill(gs, gs + t.len, 0.0f);
    for (int64_t ow = 0; ow < g.Wo; ++ow) {
      const float* gw = go + ow * C;
      for (int64_t c = 0; c < C; ++c) found[c] = 0;
      for (int64_t dh = 0; dh < k; ++dh) {
        for (int64_t dw = 0; dw < k; ++dw) {
          const int64_t base = (dh * W + ow * k + dw) * C;
          for (int64_t c = 0; c < C; ++c) {
            const uint32_t sp = -(uint32_t)(ut[base + c] >= th);
            gs[base + c] = from_bits(bits(gw[c]) & sp & ~found[c]);
            found[c] |= sp;
          }
        }
      }
      const int64_t first = (ow * k) * C;
      for (int64_t c = 0; c < C; ++c)
        gs[first + c] = from_bits(bits(gs[first + c]) | (bits(gw[c]) & ~found[c]));
    }
    return;
  }
  if (k == 2 && g.H == 2 * g.Ho && W == 2 * g.Wo) {
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      const float* u0 = ut + (2 * oh) * W;
      const float* u1 = u0 + W;
      float* g0 = gs + (2 * oh) * W;
      float* g1 = g0 + W;
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const uint32_t a = -(uint32_t)(u0[2 * ow] >= th), b = -(uint32_t)(u0[2 * ow + 1] >= th);
        const uint32_t c = -(uint32_t)(u1[2 * ow] >= th), d = -(uint32_t)(u1[2 * ow + 1] >= th);
        const uint32_t v = bits(go[oh * g.Wo + ow]);
        const uint32_t nab = ~a & ~b, nabc = nab & ~c;
        const uint32_t r[4] = {v & (a | (nabc & ~d)), v & (~a & b), v & (nab & c), v & (nabc & d)};
        std::memcpy(g0 + 2 * ow, r, 8);
        std::memcpy(g1 + 2 * ow, r + 2, 8);
      }
    }
    return;
  }
  std::fill(gs, gs + t.len, 0.0f);
  for (int64_t oh = 0; oh < g.Ho; ++oh) {
    for (int64_t ow = 0; ow < g.Wo; ++ow) {
      int64_t best = (oh * k) * W + ow * k;
      bool hit = false;
      for (int64_t dh = 0; dh < k && !hit; ++dh) {
        for (int64_t dw = 0; dw < k; ++dw) {
          const int64_t idx = (oh * k + dh) * W + ow * k + dw;
          if (ut[idx] >= th) { best = idx; hit = true; break; }
        }
      }
      gs[best] = go[oh * g.Wo + ow];
    }
  }
}

inline const float* ptr_or_null(const at::Tensor& t) {
  return (t.defined() && t.numel() > 0) ? t.data_ptr<float>() : nullptr;
}

void check_buffer(const at::Tensor& t, int64_t n, const char* what) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.is_contiguous() && t.numel() == n,
              "fused LIF: ", what, " must be a contiguous float32 buffer of ", n, " values");
}

}  // namespace

// cur: the currents' storage in the frame layout (one frame if direct, else T); u0: one frame
// or empty. Returns flat buffers in the same layout: the (pooled) spikes of the T frames, the
// final membrane (empty unless want_state), and the unpooled spikes when want_full (else empty).
std::vector<at::Tensor> lif_forward(at::Tensor cur, at::Tensor u0, int64_t T, bool direct,
                                    int64_t N, int64_t C, int64_t H, int64_t W, bool nhwc,
                                    double th, double lsb, int64_t leak_shift, int64_t pool,
                                    bool want_full, bool want_state) {
  const Geo g = make_geo(T, direct, N, C, H, W, nhwc, pool);
  const LIFParams p = make_params(th, lsb, leak_shift, 0);
  check_buffer(cur, direct ? g.S : T * g.S, "currents");
  const float* u0p = ptr_or_null(u0);
  if (u0p) check_buffer(u0, g.S, "membrane");
  auto opt = cur.options();
  auto out = at::empty({T * g.OS}, opt);
  auto full = want_full ? at::empty({T * g.S}, opt) : at::empty({0}, opt);
  auto uT = at::empty({want_state ? g.S : 0}, opt);
  const float* c = cur.data_ptr<float>();
  float* o = out.data_ptr<float>();
  float* f = want_full ? full.data_ptr<float>() : nullptr;
  float* ue = want_state ? uT.data_ptr<float>() : nullptr;
  at::parallel_for(0, g.P, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> u(g.tile), s(g.tile);
    for (int64_t pl = p0; pl < p1; ++pl) {
      const Tile tl = tile_of(g, pl);
      const int64_t L = tl.len;
      for (int64_t i = 0; i < L; ++i) u[i] = u0p ? u0p[tl.off + i] : 0.0f;
      for (int64_t t = 0; t < T; ++t) {
        const float* ct = c + (g.direct ? 0 : t * g.S) + tl.off;
        step_dispatch(p, u.data(), s.data(), nullptr, ct, L);
        if (f) std::copy(s.begin(), s.begin() + L, f + t * g.S + tl.off);
        if (g.flat) std::copy(s.begin(), s.begin() + L, o + t * g.S + tl.off);
        else if (tl.pooled) pool_forward(s.data(), o + t * g.OS + tl.out_off, g);
      }
      if (ue) std::copy(u.begin(), u.begin() + L, ue + tl.off);
    }
  });
  return {out, uT, full};
}

// Returns (grad of the currents, in cur's layout: T frames, or one frame summed over T when
// direct; grad of u0 (one frame; empty unless want_g_u0); grad of the threshold (a scalar)).
std::vector<at::Tensor> lif_backward(at::Tensor cur, at::Tensor u0, int64_t T, bool direct,
                                     int64_t N, int64_t C, int64_t H, int64_t W, bool nhwc,
                                     double th, double lsb, int64_t leak_shift, int64_t pool,
                                     int64_t surrogate_kind, at::Tensor g_out, at::Tensor g_u,
                                     bool want_g_u0) {
  const Geo g = make_geo(T, direct, N, C, H, W, nhwc, pool);
  const LIFParams p = make_params(th, lsb, leak_shift, surrogate_kind);
  check_buffer(cur, direct ? g.S : T * g.S, "currents");
  const float* u0p = ptr_or_null(u0);
  const float* go = ptr_or_null(g_out);
  const float* gu = ptr_or_null(g_u);
  if (u0p) check_buffer(u0, g.S, "membrane");
  if (go) check_buffer(g_out, T * g.OS, "spike gradient");
  if (gu) check_buffer(g_u, g.S, "membrane gradient");
  auto opt = cur.options();
  auto g_cur = at::empty({direct ? g.S : T * g.S}, opt);
  auto g_u0 = at::empty({want_g_u0 ? g.S : 0}, opt);
  const float* c = cur.data_ptr<float>();
  float* gc = g_cur.data_ptr<float>();
  float* gu0 = want_g_u0 ? g_u0.data_ptr<float>() : nullptr;
  std::vector<double> part_a(g.P, 0.0), part_b(g.P, 0.0);
  const float th_f = p.th;
  at::parallel_for(0, g.P, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> U((size_t)T * g.tile), gpost(g.tile), gs(g.tile), gsum(g.tile);
    std::vector<float> acc_a(g.tile), acc_b(g.tile);
    std::vector<uint32_t> found(std::max<int64_t>(g.C, 1));
    for (int64_t pl = p0; pl < p1; ++pl) {
      const Tile tl = tile_of(g, pl);
      const int64_t L = tl.len;
      // recompute the membranes before the spike decision, u_pre[t] (gpost holds u for now)
      for (int64_t i = 0; i < L; ++i) gpost[i] = u0p ? u0p[tl.off + i] : 0.0f;
      for (int64_t t = 0; t < T; ++t) {
        const float* ct = c + (g.direct ? 0 : t * g.S) + tl.off;
        step_dispatch(p, gpost.data(), nullptr, U.data() + t * g.tile, ct, L);
      }
      for (int64_t i = 0; i < L; ++i) {
        gpost[i] = gu ? gu[tl.off + i] : 0.0f;
        gsum[i] = 0.0f;
        acc_a[i] = 0.0f;
        acc_b[i] = 0.0f;
      }
      for (int64_t t = T - 1; t >= 0; --t) {
        const float* ut = U.data() + t * g.tile;
        if (!go || (!g.flat && !tl.pooled)) std::fill(gs.begin(), gs.begin() + L, 0.0f);
        else if (g.flat) std::copy(go + t * g.S + tl.off, go + t * g.S + tl.off + L, gs.begin());
        else pool_route(ut, th_f, go + t * g.OS + tl.out_off, gs.data(), found.data(), g, tl);
        float* gout = g.direct ? gsum.data() : gc + t * g.S + tl.off;
        back_dispatch(p, ut, gs.data(), gpost.data(), gout, g.direct, acc_a.data(), acc_b.data(), L);
      }
      if (g.direct) std::copy(gsum.begin(), gsum.begin() + L, gc + tl.off);
      if (gu0) std::copy(gpost.begin(), gpost.begin() + L, gu0 + tl.off);
      part_a[pl] = sum_lanes(acc_a.data(), L);
      part_b[pl] = sum_lanes(acc_b.data(), L);
    }
  });
  double a = 0.0, b = 0.0;  // in tile order: the same result for any number of threads
  for (int64_t i = 0; i < g.P; ++i) { a += part_a[i]; b += part_b[i]; }
  const double th2 = (double)(th_f * th_f);
  return {g_cur, g_u0, at::full({}, -a - b / th2, opt)};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("lif_forward", &lif_forward, "LIF (+ OR pool) forward over T timesteps");
  m.def("lif_backward", &lif_backward, "its BPTT backward, membranes recomputed");
}
