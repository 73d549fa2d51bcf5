/* The kernels' bodies, compiled once per instruction set by kernels_*.c: each includes this
   file under a `#pragma clang attribute` target and a RK_NAME suffix, and kernels.c picks one
   set at load time from the CPU's features. (Function multi-versioning cannot pass 16-lane
   vectors between helpers of different targets.) */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stddef.h>

#define LANES 16

/* e^x: Cephes range reduction and degree-6 polynomial, relative error ~2e-7; branch-free so loops
   over it vectorise. Rounding and float->int go through the 1.5*2^23 trick. */
static inline __attribute__((always_inline)) float exp_poly(float x) {
    const float magic = 12582912.0f;
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    float t = x * 1.44269504088896341f + magic;
    float fx = t - magic;
    x = x - fx * 0.693359375f;
    x = x + fx * 2.12194440e-4f;
    float y = 1.9875691500E-4f;
    y = y * x + 1.3981999507E-3f;
    y = y * x + 8.3334519073E-3f;
    y = y * x + 4.1665795894E-2f;
    y = y * x + 1.6666665459E-1f;
    y = y * x + 5.0000001201E-1f;
    y = y * (x * x) + x + 1.0f;
    int32_t ti;
    memcpy(&ti, &t, 4);
    int32_t n = ti - 0x4B400000;
    int32_t bits = (n + 127) << 23;
    float p;
    memcpy(&p, &bits, 4);
    return y * p;
}

float RK_NAME(rk_expf)(float x) { return exp_poly(x); }

/* Explicit 16-lane vectors (clang's ext_vector_type): each clone lowers them to one AVX-512, two
   AVX2 or four SSE registers. The auto-vectoriser would not vectorise these loops. Lanes combine
   in a fixed order, and the scalar tails use the same arithmetic, so a value never depends on
   where it falls. */
typedef float v16f __attribute__((ext_vector_type(16)));
typedef int32_t v16i __attribute__((ext_vector_type(16)));

static inline __attribute__((always_inline)) v16f load16(const float *p) { v16f v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline __attribute__((always_inline)) void store16(float *p, v16f v) { __builtin_memcpy(p, &v, sizeof v); }
static inline __attribute__((always_inline)) v16f splat(float x) { return (v16f)(x); }

static inline __attribute__((always_inline)) v16f exp16(v16f x) {
    const v16f magic = splat(12582912.0f);
    x = __builtin_elementwise_max(x, splat(-87.3f));
    x = __builtin_elementwise_min(x, splat(88.3f));
    v16f t = x * 1.44269504088896341f + magic;
    v16f fx = t - magic;
    x = x - fx * 0.693359375f;
    x = x + fx * 2.12194440e-4f;
    v16f y = splat(1.9875691500E-4f);
    y = y * x + 1.3981999507E-3f;
    y = y * x + 8.3334519073E-3f;
    y = y * x + 4.1665795894E-2f;
    y = y * x + 1.6666665459E-1f;
    y = y * x + 5.0000001201E-1f;
    y = y * (x * x) + x + 1.0f;
    v16i n = (v16i)t - 0x4B400000;
    v16f p = (v16f)((n + 127) << 23);
    return y * p;
}

/* Lanes summed as a tree, halves first: a fixed order (the same bits on every instruction set)
   that takes four vector adds instead of fifteen scalar ones. */
static inline __attribute__((always_inline)) float hsum16(v16f v) {
    typedef float v8f __attribute__((ext_vector_type(8)));
    typedef float v4f __attribute__((ext_vector_type(4)));
    v8f a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    v4f b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
    return (b[0] + b[2]) + (b[1] + b[3]);
}

static inline __attribute__((always_inline)) float hmax16(v16f v) {
    float r = v[0];
    for (int j = 1; j < LANES; j++) r = v[j] > r ? v[j] : r;
    return r;
}

float RK_NAME(rk_exp_shift_sum)(const float *x, float *out, size_t n, float shift) {
    v16f acc = splat(0);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        v16f e = exp16(load16(x + i) - shift);
        store16(out + i, e);
        acc += e;
    }
    float s = hsum16(acc);
    for (; i < n; i++) {
        float e = exp_poly(x[i] - shift);
        out[i] = e;
        s += e;
    }
    return s;
}

float RK_NAME(rk_max)(const float *x, size_t n) {
    float r = -INFINITY;
    size_t i = 0;
    if (n >= LANES) {
        v16f m = load16(x);
        for (i = LANES; i + LANES <= n; i += LANES) m = __builtin_elementwise_max(m, load16(x + i));
        r = hmax16(m);
    }
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

float RK_NAME(rk_logsumexp)(const float *x, size_t n) {
    float m = RK_NAME(rk_max)(x, n);
    v16f acc = splat(0);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) acc += exp16(load16(x + i) - m);
    float s = hsum16(acc);
    for (; i < n; i++) s += exp_poly(x[i] - m);
    return m + logf(s);
}

float RK_NAME(rk_dot)(const float *x, const float *y, size_t n) {
    v16f acc = splat(0);
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) acc += load16(x + i) * load16(y + i);
    float s = hsum16(acc);
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

/* x[i] *= a for i < n */
static inline __attribute__((always_inline)) void scale_in_place(float *x, size_t n, float a) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) store16(x + i, load16(x + i) * a);
    for (; i < n; i++) x[i] *= a;
}

void RK_NAME(rk_softmax_prefix)(float *row, size_t visible, size_t total) {
    float m = RK_NAME(rk_max)(row, visible);
    float s = RK_NAME(rk_exp_shift_sum)(row, row, visible, m);
    scale_in_place(row, visible, 1.0f / s);
    if (total > visible) memset(row + visible, 0, (total - visible) * sizeof(float));
}

void RK_NAME(rk_softmax_gap)(float *row, size_t gap_start, size_t gap_end, size_t visible, size_t total) {
    float m = RK_NAME(rk_max)(row, gap_start);
    float m2 = RK_NAME(rk_max)(row + gap_end, visible - gap_end);
    if (m2 > m) m = m2;
    float s = RK_NAME(rk_exp_shift_sum)(row, row, gap_start, m)
            + RK_NAME(rk_exp_shift_sum)(row + gap_end, row + gap_end, visible - gap_end, m);
    scale_in_place(row, gap_start, 1.0f / s);
    scale_in_place(row + gap_end, visible - gap_end, 1.0f / s);
    memset(row + gap_start, 0, (gap_end - gap_start) * sizeof(float));
    if (total > visible) memset(row + visible, 0, (total - visible) * sizeof(float));
}

void RK_NAME(rk_softmax_backward_prefix)(float *d, const float *p, size_t visible, size_t total) {
    float dot = RK_NAME(rk_dot)(p, d, visible);
    size_t j = 0;
    for (; j + LANES <= visible; j += LANES) store16(d + j, load16(p + j) * (load16(d + j) - dot));
    for (; j < visible; j++) d[j] = p[j] * (d[j] - dot);
    if (total > visible) memset(d + visible, 0, (total - visible) * sizeof(float));
}

void RK_NAME(rk_logprob_backward_row)(float *d, const float *logits, size_t n, float lse, float g, long target) {
    size_t j = 0;
    for (; j + LANES <= n; j += LANES) store16(d + j, -g * exp16(load16(logits + j) - lse));
    for (; j < n; j++) d[j] = -g * exp_poly(logits[j] - lse);
    if (target >= 0 && (size_t)target < n) d[target] += g;
}

void RK_NAME(rk_swiglu_forward)(float *out, const float *gateUp, size_t rows, size_t I) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = gateUp + r * 2 * I, *u = g + I;
        float *o = out + r * I;
        size_t i = 0;
        for (; i + LANES <= I; i += LANES) {
            v16f gv = load16(g + i);
            v16f sig = 1.0f / (1.0f + exp16(-gv));
            store16(o + i, gv * sig * load16(u + i));
        }
        for (; i < I; i++) {
            float sig = 1.0f / (1.0f + exp_poly(-g[i]));
            o[i] = g[i] * sig * u[i];
        }
    }
}

void RK_NAME(rk_swiglu_backward)(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = gateUp + r * 2 * I, *u = g + I, *dy = dout + r * I;
        float *dg = dgateUp + r * 2 * I, *du = dg + I;
        size_t i = 0;
        for (; i + LANES <= I; i += LANES) {
            v16f gv = load16(g + i), uv = load16(u + i), dyv = load16(dy + i);
            v16f sig = 1.0f / (1.0f + exp16(-gv));
            store16(dg + i, dyv * uv * sig * (1.0f + gv * (1.0f - sig)));
            store16(du + i, dyv * gv * sig);
        }
        for (; i < I; i++) {
            float sig = 1.0f / (1.0f + exp_poly(-g[i]));
            dg[i] = dy[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
            du[i] = dy[i] * g[i] * sig;
        }
    }
}

void RK_NAME(rk_adamw)(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2,
              float step_size, float bc2_sqrt, float eps) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        v16f gv = load16(g + i);
        v16f pi = load16(p + i) * decay;
        v16f mi = beta1 * load16(m + i) + (1.0f - beta1) * gv;
        v16f vi = beta2 * load16(v + i) + (1.0f - beta2) * gv * gv;
        store16(m + i, mi);
        store16(v + i, vi);
        store16(p + i, pi - step_size * mi / (__builtin_elementwise_sqrt(vi) / bc2_sqrt + eps));
    }
    for (; i < n; i++) {
        float pi = p[i] * decay;
        float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
        float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

/* Blocks of RK_KB weight rows x RK_MB input rows of accumulators: with 4 x 4 on AVX-512, each
   16-float step loads 8 vectors for 16 FMAs (one weight row at a time is bound by loads, not
   arithmetic). AVX2 has half the registers, so 2 x 2 there. Blocking does not change any sum's
   order, so every instruction set gives the same bits. The weight block stays in L1 while every
   input block passes over it. */
#ifndef RK_KB
#define RK_KB 4
#define RK_MB 4
#endif

static inline __attribute__((always_inline)) void matmul_block(float *out, const float *const *xr, size_t mc,
                                                               const float *W, size_t C, size_t OC, size_t o, size_t oc,
                                                               size_t mrow0) {
    const float *w[RK_KB];
    for (size_t k = 0; k < RK_KB; k++) w[k] = W + (o + (k < oc ? k : 0)) * C;
    v16f acc[RK_KB][RK_MB];
    for (size_t k = 0; k < RK_KB; k++)
        for (size_t m = 0; m < RK_MB; m++) acc[k][m] = splat(0);
    size_t c = 0;
    for (; c + LANES <= C; c += LANES) {
        v16f wv[RK_KB], xv[RK_MB];
        for (size_t k = 0; k < RK_KB; k++) wv[k] = load16(w[k] + c);
        for (size_t m = 0; m < RK_MB; m++) xv[m] = load16(xr[m] + c);
        for (size_t k = 0; k < RK_KB; k++)
            for (size_t m = 0; m < RK_MB; m++) acc[k][m] = __builtin_elementwise_fma(xv[m], wv[k], acc[k][m]);
    }
    for (size_t k = 0; k < oc; k++) {
        for (size_t m = 0; m < mc; m++) {
            float s = hsum16(acc[k][m]);
            for (size_t cc = c; cc < C; cc++) s = fmaf(xr[m][cc], w[k][cc], s);
            out[(mrow0 + m) * OC + o + k] = s;
        }
    }
}

void RK_NAME(rk_matmul_rows)(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC,
                    size_t o0, size_t o1) {
    for (size_t o = o0; o < o1; o += RK_KB) {
        size_t oc = o1 - o < RK_KB ? o1 - o : RK_KB;
        for (size_t m0 = 0; m0 < M; m0 += RK_MB) {
            size_t mc = M - m0 < RK_MB ? M - m0 : RK_MB;
            const float *xr[RK_MB];
            for (size_t m = 0; m < RK_MB; m++) xr[m] = x + (m0 + (m < mc ? m : 0)) * C;
            matmul_block(out, xr, mc, W, C, OC, o, oc, m0);
        }
    }
}

/* The bfloat16 weights of generation, packed (rk_pack_bf16) in panels of RK_PANEL output columns:
   panel p holds, for each c = 0..C-1, 32 words of 32 bits; word q*16 + j (q = 0, 1; j < 16) has
   column p*64 + q*32 + j in its low half and column p*64 + q*32 + 16 + j in its high half (zero
   past OC). A word is widened to two float32 vectors by one shift (low halves) and one mask (high
   halves), and each c of a panel is one contiguous 128-byte read. */
#define RK_PANEL 64
/* Each pass over a panel asks for the weights of the c RK_PREFETCH steps ahead (2 KB) into the
   cache (prefetcht0): at batch 8 this took `rlhf bench generate` from about 310 to 390 new
   tokens/s on the 126M model, and from about 600 to 700 at batch 64 (Docs/benchmarks.md); the
   hardware prefetcher alone left the stream waiting on memory. With the non-temporal hint it was
   slower (about 200): the 2-row pass after a 6-row one then found the panel gone from L2. A
   prefetch never faults, so running past the last panel is harmless. */
#ifndef RK_PREFETCH
#define RK_PREFETCH 16
#endif

static inline __attribute__((always_inline)) uint16_t to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  /* NaN stays NaN */
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);                /* nearest even */
}

void RK_NAME(rk_to_bf16)(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = to_bf16(src[i]);
}

void RK_NAME(rk_pack_bf16)(uint16_t *dst, const float *W, size_t OC, size_t C, size_t p0, size_t p1) {
    for (size_t p = p0; p < p1; p++) {
        for (size_t c = 0; c < C; c++) {
            uint16_t *d = dst + (p * C + c) * RK_PANEL;
            for (size_t q = 0; q < 2; q++) {
                for (size_t j = 0; j < 16; j++) {
                    size_t lo = p * RK_PANEL + q * 32 + j, hi = lo + 16;
                    d[q * 32 + 2 * j] = lo < OC ? to_bf16(W[lo * C + c]) : 0;
                    d[q * 32 + 2 * j + 1] = hi < OC ? to_bf16(W[hi * C + c]) : 0;
                }
            }
        }
    }
}

typedef uint32_t v16u __attribute__((ext_vector_type(16)));

/* Rows m0..m0+MB of out, columns of words q0..q0+QN of panel p: acc = fma(x[m][c], w[c], acc) for
   c = 0, 1, ..., C-1 in turn. Each output is one chain of FMAs in c order, whatever MB, QN or the
   kernel set: a row's bits depend on nothing but its inputs. */
#define RK_PANEL_BLOCK(MB, QN)                                                                                  \
    static inline __attribute__((always_inline)) void panel_block_##MB##_##QN(                                 \
        float *out, const float *x, size_t C, size_t OC, const uint16_t *pw, size_t col0) {                    \
        v16f acc[MB][2 * QN];                                                                                   \
        for (size_t m = 0; m < MB; m++)                                                                         \
            for (size_t k = 0; k < 2 * QN; k++) acc[m][k] = splat(0);                                           \
        for (size_t c = 0; c < C; c++) {                                                                        \
            __builtin_prefetch(pw + (c + RK_PREFETCH) * RK_PANEL, 0, 3);                                        \
            __builtin_prefetch(pw + (c + RK_PREFETCH) * RK_PANEL + 32, 0, 3);                                   \
            v16f w[2 * QN];                                                                                     \
            for (size_t q = 0; q < QN; q++) {                                                                   \
                v16u u;                                                                                         \
                __builtin_memcpy(&u, pw + c * RK_PANEL + q * 32, sizeof u);                                     \
                w[2 * q] = (v16f)(u << 16);                                                                     \
                w[2 * q + 1] = (v16f)(u & 0xffff0000u);                                                         \
            }                                                                                                   \
            for (size_t m = 0; m < MB; m++) {                                                                   \
                v16f xb = splat(x[m * C + c]);                                                                  \
                for (size_t k = 0; k < 2 * QN; k++) acc[m][k] = __builtin_elementwise_fma(xb, w[k], acc[m][k]); \
            }                                                                                                   \
        }                                                                                                       \
        for (size_t m = 0; m < MB; m++) {                                                                       \
            for (size_t k = 0; k < 2 * QN; k++) {                                                               \
                size_t col = col0 + k * 16;                                                                     \
                if (col + 16 <= OC) {                                                                           \
                    store16(out + m * OC + col, acc[m][k]);                                                     \
                } else {                                                                                        \
                    for (size_t j = 0; col + j < OC; j++) out[m * OC + col + j] = acc[m][k][j];                 \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }

/* AVX-512: 6 rows x 64 columns (24 accumulators of 32 registers) per pass over a panel; AVX2 and
   the baseline: 2 rows x 32 columns (half a panel at a time). */
#ifndef RK_PANEL_ROWS
#define RK_PANEL_ROWS 6
#define RK_PANEL_WORDS 2
#endif
#if RK_PANEL_WORDS == 2
RK_PANEL_BLOCK(1, 2)
RK_PANEL_BLOCK(2, 2)
RK_PANEL_BLOCK(3, 2)
RK_PANEL_BLOCK(4, 2)
RK_PANEL_BLOCK(5, 2)
RK_PANEL_BLOCK(6, 2)
#else
RK_PANEL_BLOCK(1, 1)
RK_PANEL_BLOCK(2, 1)
#endif

void RK_NAME(rk_matmul_rows_bf16)(float *out, const float *x, const uint16_t *W, size_t M, size_t C, size_t OC,
                                  size_t o0, size_t o1) {
    for (size_t p = o0 / RK_PANEL; p * RK_PANEL < o1; p++) {
        const uint16_t *pw = W + p * C * RK_PANEL;
        for (size_t q = 0; q < 2; q += RK_PANEL_WORDS) {
            size_t col0 = p * RK_PANEL + q * 32;
            if (col0 >= OC) break;
            for (size_t m0 = 0; m0 < M; m0 += RK_PANEL_ROWS) {
                size_t mc = M - m0 < RK_PANEL_ROWS ? M - m0 : RK_PANEL_ROWS;
                float *o = out + m0 * OC;
                const float *xm = x + m0 * C;
                const uint16_t *pq = pw + q * 32;
#if RK_PANEL_WORDS == 2
                switch (mc) {
                case 1: panel_block_1_2(o, xm, C, OC, pq, col0); break;
                case 2: panel_block_2_2(o, xm, C, OC, pq, col0); break;
                case 3: panel_block_3_2(o, xm, C, OC, pq, col0); break;
                case 4: panel_block_4_2(o, xm, C, OC, pq, col0); break;
                case 5: panel_block_5_2(o, xm, C, OC, pq, col0); break;
                default: panel_block_6_2(o, xm, C, OC, pq, col0); break;
                }
#else
                if (mc == 1) panel_block_1_1(o, xm, C, OC, pq, col0); else panel_block_2_1(o, xm, C, OC, pq, col0);
#endif
            }
        }
    }
}

/* One query row against Tk keys (a decoding step): scores = scale * q.k_j, softmax, out = sum_j p_j v_j.
   Two sgemm calls per head would cost more in call overhead than this loop does in arithmetic. */
void RK_NAME(rk_attention_query)(float *out, float *probs, const float *q, const float *k, const float *v,
                                 size_t ldkv, size_t Tk, size_t HS, float scale) {
    for (size_t j = 0; j < Tk; j++) probs[j] = RK_NAME(rk_dot)(q, k + j * ldkv, HS) * scale;
    RK_NAME(rk_softmax_prefix)(probs, Tk, Tk);
    size_t d = 0;
    for (; d + LANES <= HS; d += LANES) {
        v16f acc = splat(0);
        for (size_t j = 0; j < Tk; j++) acc += probs[j] * load16(v + j * ldkv + d);
        store16(out + d, acc);
    }
    for (; d < HS; d++) {
        float acc = 0;
        for (size_t j = 0; j < Tk; j++) acc += probs[j] * v[j * ldkv + d];
        out[d] = acc;
    }
}
