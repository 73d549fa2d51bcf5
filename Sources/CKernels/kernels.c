#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define RK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_CLONES
#endif

#define LANES 16

/* e^x: Cephes range reduction and degree-6 polynomial, relative error ~2e-7; branch-free so loops
   over it vectorise. Rounding and float->int go through the 1.5*2^23 trick. */
static inline float exp_poly(float x) {
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

float rk_expf(float x) { return exp_poly(x); }

static inline float lane_sum(const float *acc) {
    float s = 0;
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

RK_CLONES
float rk_exp_shift_sum(const float *x, float *out, size_t n, float shift) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int j = 0; j < LANES; j++) {
            float e = exp_poly(x[i + j] - shift);
            out[i + j] = e;
            acc[j] += e;
        }
    }
    float s = lane_sum(acc);
    for (; i < n; i++) {
        float e = exp_poly(x[i] - shift);
        out[i] = e;
        s += e;
    }
    return s;
}

RK_CLONES
float rk_max(const float *x, size_t n) {
    float m[LANES];
    for (int j = 0; j < LANES; j++) m[j] = -INFINITY;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    float r = -INFINITY;
    for (int j = 0; j < LANES; j++) r = m[j] > r ? m[j] : r;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

RK_CLONES
float rk_logsumexp(const float *x, size_t n) {
    float m = rk_max(x, n);
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += exp_poly(x[i + j] - m);
    float s = lane_sum(acc);
    for (; i < n; i++) s += exp_poly(x[i] - m);
    return m + logf(s);
}

RK_CLONES
float rk_dot(const float *x, const float *y, size_t n) {
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += x[i + j] * y[i + j];
    float s = lane_sum(acc);
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

RK_CLONES
void rk_softmax_prefix(float *row, size_t visible, size_t total) {
    float m = rk_max(row, visible);
    float s = rk_exp_shift_sum(row, row, visible, m);
    float inv = 1.0f / s;
    for (size_t j = 0; j < visible; j++) row[j] *= inv;
    for (size_t j = visible; j < total; j++) row[j] = 0;
}

RK_CLONES
void rk_softmax_backward_prefix(float *d, const float *p, size_t visible, size_t total) {
    float dot = rk_dot(p, d, visible);
    for (size_t j = 0; j < visible; j++) d[j] = p[j] * (d[j] - dot);
    for (size_t j = visible; j < total; j++) d[j] = 0;
}

RK_CLONES
void rk_logprob_backward_row(float *d, const float *logits, size_t n, float lse, float g, long target) {
    for (size_t j = 0; j < n; j++) d[j] = -g * exp_poly(logits[j] - lse);
    if (target >= 0 && (size_t)target < n) d[target] += g;
}

RK_CLONES
void rk_swiglu_forward(float *out, const float *gateUp, size_t rows, size_t I) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = gateUp + r * 2 * I, *u = g + I;
        float *o = out + r * I;
        for (size_t i = 0; i < I; i++) {
            float sig = 1.0f / (1.0f + exp_poly(-g[i]));
            o[i] = g[i] * sig * u[i];
        }
    }
}

RK_CLONES
void rk_swiglu_backward(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = gateUp + r * 2 * I, *u = g + I, *dy = dout + r * I;
        float *dg = dgateUp + r * 2 * I, *du = dg + I;
        for (size_t i = 0; i < I; i++) {
            float sig = 1.0f / (1.0f + exp_poly(-g[i]));
            dg[i] = dy[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
            du[i] = dy[i] * g[i] * sig;
        }
    }
}

/* Up to 4 input rows per pass keeps 4 x 16 accumulators in registers. */
RK_CLONES
void rk_matmul_rows(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC,
                    size_t o0, size_t o1) {
    size_t m0 = 0;
    for (; m0 < M; m0 += 4) {
        size_t mc = M - m0 < 4 ? M - m0 : 4;
        const float *x0 = x + (m0 + 0) * C, *x1 = x + (m0 + (mc > 1 ? 1 : 0)) * C;
        const float *x2 = x + (m0 + (mc > 2 ? 2 : 0)) * C, *x3 = x + (m0 + (mc > 3 ? 3 : 0)) * C;
        for (size_t o = o0; o < o1; o++) {
            const float *w = W + o * C;
            float a0[LANES] = {0}, a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
            size_t c = 0;
            for (; c + LANES <= C; c += LANES) {
                for (int j = 0; j < LANES; j++) {
                    float wv = w[c + j];
                    a0[j] += x0[c + j] * wv;
                    a1[j] += x1[c + j] * wv;
                    a2[j] += x2[c + j] * wv;
                    a3[j] += x3[c + j] * wv;
                }
            }
            float s0 = lane_sum(a0), s1 = lane_sum(a1), s2 = lane_sum(a2), s3 = lane_sum(a3);
            for (; c < C; c++) {
                s0 += x0[c] * w[c];
                s1 += x1[c] * w[c];
                s2 += x2[c] * w[c];
                s3 += x3[c] * w[c];
            }
            out[(m0 + 0) * OC + o] = s0;
            if (mc > 1) out[(m0 + 1) * OC + o] = s1;
            if (mc > 2) out[(m0 + 2) * OC + o] = s2;
            if (mc > 3) out[(m0 + 3) * OC + o] = s3;
        }
    }
}

RK_CLONES
void rk_adamw(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2,
              float step_size, float bc2_sqrt, float eps) {
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay;
        float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
        float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}
