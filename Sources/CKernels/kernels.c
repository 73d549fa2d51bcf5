/* Picks, once at load time, the kernel set for this CPU: AVX-512, AVX2 or baseline. Each set is
   the same source (kernels_impl.h) compiled for its instruction set; none uses FMA contraction,
   so all three give the same bits. RLHF_KERNELS=generic|avx2|avx512 forces one (for tests). */
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

float rk_expf_avx512(float x);
float rk_expf_avx2(float x);
float rk_expf_generic(float x);
float rk_exp_shift_sum_avx512(const float *x, float *out, size_t n, float shift);
float rk_exp_shift_sum_avx2(const float *x, float *out, size_t n, float shift);
float rk_exp_shift_sum_generic(const float *x, float *out, size_t n, float shift);
float rk_max_avx512(const float *x, size_t n);
float rk_max_avx2(const float *x, size_t n);
float rk_max_generic(const float *x, size_t n);
float rk_logsumexp_avx512(const float *x, size_t n);
float rk_logsumexp_avx2(const float *x, size_t n);
float rk_logsumexp_generic(const float *x, size_t n);
float rk_dot_avx512(const float *x, const float *y, size_t n);
float rk_dot_avx2(const float *x, const float *y, size_t n);
float rk_dot_generic(const float *x, const float *y, size_t n);
void rk_softmax_prefix_avx512(float *row, size_t visible, size_t total);
void rk_softmax_prefix_avx2(float *row, size_t visible, size_t total);
void rk_softmax_prefix_generic(float *row, size_t visible, size_t total);
void rk_softmax_gap_avx512(float *row, size_t gap_start, size_t gap_end, size_t visible, size_t total);
void rk_softmax_gap_avx2(float *row, size_t gap_start, size_t gap_end, size_t visible, size_t total);
void rk_softmax_gap_generic(float *row, size_t gap_start, size_t gap_end, size_t visible, size_t total);
void rk_softmax_backward_prefix_avx512(float *d, const float *p, size_t visible, size_t total);
void rk_softmax_backward_prefix_avx2(float *d, const float *p, size_t visible, size_t total);
void rk_softmax_backward_prefix_generic(float *d, const float *p, size_t visible, size_t total);
void rk_logprob_backward_row_avx512(float *d, const float *logits, size_t n, float lse, float g, long target);
void rk_logprob_backward_row_avx2(float *d, const float *logits, size_t n, float lse, float g, long target);
void rk_logprob_backward_row_generic(float *d, const float *logits, size_t n, float lse, float g, long target);
void rk_swiglu_forward_avx512(float *out, const float *gateUp, size_t rows, size_t I);
void rk_swiglu_forward_avx2(float *out, const float *gateUp, size_t rows, size_t I);
void rk_swiglu_forward_generic(float *out, const float *gateUp, size_t rows, size_t I);
void rk_swiglu_backward_avx512(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I);
void rk_swiglu_backward_avx2(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I);
void rk_swiglu_backward_generic(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I);
void rk_adamw_avx512(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2, float step_size, float bc2_sqrt, float eps);
void rk_adamw_avx2(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2, float step_size, float bc2_sqrt, float eps);
void rk_adamw_generic(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2, float step_size, float bc2_sqrt, float eps);
void rk_matmul_rows_avx512(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1);
void rk_matmul_rows_avx2(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1);
void rk_matmul_rows_generic(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1);
void rk_matmul_rows_bf16_avx512(float *out, const float *x, const uint16_t *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1);
void rk_matmul_rows_bf16_avx2(float *out, const float *x, const uint16_t *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1);
void rk_matmul_rows_bf16_generic(float *out, const float *x, const uint16_t *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1);
void rk_to_bf16_avx512(uint16_t *dst, const float *src, size_t n);
void rk_to_bf16_avx2(uint16_t *dst, const float *src, size_t n);
void rk_to_bf16_generic(uint16_t *dst, const float *src, size_t n);
void rk_pack_bf16_avx512(uint16_t *dst, const float *W, size_t OC, size_t C, size_t p0, size_t p1);
void rk_pack_bf16_avx2(uint16_t *dst, const float *W, size_t OC, size_t C, size_t p0, size_t p1);
void rk_pack_bf16_generic(uint16_t *dst, const float *W, size_t OC, size_t C, size_t p0, size_t p1);

void rk_attention_query_avx512(float *out, float *probs, const float *q, const float *k, const float *v, size_t ldkv, size_t Tk, size_t HS, float scale);
void rk_attention_query_avx2(float *out, float *probs, const float *q, const float *k, const float *v, size_t ldkv, size_t Tk, size_t HS, float scale);
void rk_attention_query_generic(float *out, float *probs, const float *q, const float *k, const float *v, size_t ldkv, size_t Tk, size_t HS, float scale);

static int rk_level = 0;
static int rk_best_level = 0;

__attribute__((constructor)) static void rk_choose_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    int best = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = 1;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        best = 2;
    rk_level = best;
    rk_best_level = best;
    const char *forced = getenv("RLHF_KERNELS");
    if (forced != NULL) {
        int want = strcmp(forced, "avx512") == 0 ? 2 : strcmp(forced, "avx2") == 0 ? 1 : 0;
        if (want <= best) rk_level = want;
    }
#endif
}

const char *rk_kernel_set(void) { return rk_level == 2 ? "avx512" : rk_level == 1 ? "avx2" : "generic"; }

float rk_expf(float x) {
#if defined(__x86_64__)
    if (rk_level == 2) { return rk_expf_avx512(x); }
    if (rk_level == 1) { return rk_expf_avx2(x); }
#endif
    return rk_expf_generic(x);
}

float rk_exp_shift_sum(const float *x, float *out, size_t n, float shift) {
#if defined(__x86_64__)
    if (rk_level == 2) { return rk_exp_shift_sum_avx512(x, out, n, shift); }
    if (rk_level == 1) { return rk_exp_shift_sum_avx2(x, out, n, shift); }
#endif
    return rk_exp_shift_sum_generic(x, out, n, shift);
}

float rk_max(const float *x, size_t n) {
#if defined(__x86_64__)
    if (rk_level == 2) { return rk_max_avx512(x, n); }
    if (rk_level == 1) { return rk_max_avx2(x, n); }
#endif
    return rk_max_generic(x, n);
}

float rk_logsumexp(const float *x, size_t n) {
#if defined(__x86_64__)
    if (rk_level == 2) { return rk_logsumexp_avx512(x, n); }
    if (rk_level == 1) { return rk_logsumexp_avx2(x, n); }
#endif
    return rk_logsumexp_generic(x, n);
}

float rk_dot(const float *x, const float *y, size_t n) {
#if defined(__x86_64__)
    if (rk_level == 2) { return rk_dot_avx512(x, y, n); }
    if (rk_level == 1) { return rk_dot_avx2(x, y, n); }
#endif
    return rk_dot_generic(x, y, n);
}

void rk_softmax_prefix(float *row, size_t visible, size_t total) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_softmax_prefix_avx512(row, visible, total); return; }
    if (rk_level == 1) { rk_softmax_prefix_avx2(row, visible, total); return; }
#endif
    rk_softmax_prefix_generic(row, visible, total);
}

void rk_softmax_gap(float *row, size_t gap_start, size_t gap_end, size_t visible, size_t total) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_softmax_gap_avx512(row, gap_start, gap_end, visible, total); return; }
    if (rk_level == 1) { rk_softmax_gap_avx2(row, gap_start, gap_end, visible, total); return; }
#endif
    rk_softmax_gap_generic(row, gap_start, gap_end, visible, total);
}

void rk_softmax_backward_prefix(float *d, const float *p, size_t visible, size_t total) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_softmax_backward_prefix_avx512(d, p, visible, total); return; }
    if (rk_level == 1) { rk_softmax_backward_prefix_avx2(d, p, visible, total); return; }
#endif
    rk_softmax_backward_prefix_generic(d, p, visible, total);
}

void rk_logprob_backward_row(float *d, const float *logits, size_t n, float lse, float g, long target) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_logprob_backward_row_avx512(d, logits, n, lse, g, target); return; }
    if (rk_level == 1) { rk_logprob_backward_row_avx2(d, logits, n, lse, g, target); return; }
#endif
    rk_logprob_backward_row_generic(d, logits, n, lse, g, target);
}

void rk_swiglu_forward(float *out, const float *gateUp, size_t rows, size_t I) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_swiglu_forward_avx512(out, gateUp, rows, I); return; }
    if (rk_level == 1) { rk_swiglu_forward_avx2(out, gateUp, rows, I); return; }
#endif
    rk_swiglu_forward_generic(out, gateUp, rows, I);
}

void rk_swiglu_backward(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_swiglu_backward_avx512(dgateUp, dout, gateUp, rows, I); return; }
    if (rk_level == 1) { rk_swiglu_backward_avx2(dgateUp, dout, gateUp, rows, I); return; }
#endif
    rk_swiglu_backward_generic(dgateUp, dout, gateUp, rows, I);
}

void rk_adamw(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2, float step_size, float bc2_sqrt, float eps) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_adamw_avx512(p, g, m, v, n, decay, beta1, beta2, step_size, bc2_sqrt, eps); return; }
    if (rk_level == 1) { rk_adamw_avx2(p, g, m, v, n, decay, beta1, beta2, step_size, bc2_sqrt, eps); return; }
#endif
    rk_adamw_generic(p, g, m, v, n, decay, beta1, beta2, step_size, bc2_sqrt, eps);
}

void rk_matmul_rows(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_matmul_rows_avx512(out, x, W, M, C, OC, o0, o1); return; }
    if (rk_level == 1) { rk_matmul_rows_avx2(out, x, W, M, C, OC, o0, o1); return; }
#endif
    rk_matmul_rows_generic(out, x, W, M, C, OC, o0, o1);
}

void rk_matmul_rows_bf16(float *out, const float *x, const uint16_t *W, size_t M, size_t C, size_t OC, size_t o0, size_t o1) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_matmul_rows_bf16_avx512(out, x, W, M, C, OC, o0, o1); return; }
    if (rk_level == 1) { rk_matmul_rows_bf16_avx2(out, x, W, M, C, OC, o0, o1); return; }
#endif
    rk_matmul_rows_bf16_generic(out, x, W, M, C, OC, o0, o1);
}

int rk_matmul_rows_in_set(int set, int bf16, float *out, const float *x, const void *W, size_t M, size_t C, size_t OC,
                          size_t o0, size_t o1) {
    if (set < 0 || set > rk_best_level) return -1;
#if defined(__x86_64__)
    if (set == 2) {
        if (bf16) rk_matmul_rows_bf16_avx512(out, x, W, M, C, OC, o0, o1); else rk_matmul_rows_avx512(out, x, W, M, C, OC, o0, o1);
        return 0;
    }
    if (set == 1) {
        if (bf16) rk_matmul_rows_bf16_avx2(out, x, W, M, C, OC, o0, o1); else rk_matmul_rows_avx2(out, x, W, M, C, OC, o0, o1);
        return 0;
    }
#endif
    if (bf16) rk_matmul_rows_bf16_generic(out, x, W, M, C, OC, o0, o1); else rk_matmul_rows_generic(out, x, W, M, C, OC, o0, o1);
    return 0;
}

void rk_to_bf16(uint16_t *dst, const float *src, size_t n) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_to_bf16_avx512(dst, src, n); return; }
    if (rk_level == 1) { rk_to_bf16_avx2(dst, src, n); return; }
#endif
    rk_to_bf16_generic(dst, src, n);
}

void rk_pack_bf16(uint16_t *dst, const float *W, size_t OC, size_t C, size_t p0, size_t p1) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_pack_bf16_avx512(dst, W, OC, C, p0, p1); return; }
    if (rk_level == 1) { rk_pack_bf16_avx2(dst, W, OC, C, p0, p1); return; }
#endif
    rk_pack_bf16_generic(dst, W, OC, C, p0, p1);
}

void rk_attention_query(float *out, float *probs, const float *q, const float *k, const float *v, size_t ldkv, size_t Tk, size_t HS, float scale) {
#if defined(__x86_64__)
    if (rk_level == 2) { rk_attention_query_avx512(out, probs, q, k, v, ldkv, Tk, HS, scale); return; }
    if (rk_level == 1) { rk_attention_query_avx2(out, probs, q, k, v, ldkv, Tk, HS, scale); return; }
#endif
    rk_attention_query_generic(out, probs, q, k, v, ldkv, Tk, HS, scale);
}
