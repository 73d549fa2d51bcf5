#ifndef CKERNELS_H
#define CKERNELS_H
/* Element-wise hot loops (exponentials, softmax rows, SwiGLU) in C, where the compiler
   vectorises them for the CPU it runs on (kernels.c picks AVX-512, AVX2 or baseline code at load
   time). Swift's generic SIMD types lower to spills and scalar reductions
   on x86-64, at several times the cost. Reductions use 16 fixed lanes, so results do not depend
   on thread count or on the instruction set. */
#include <stddef.h>
#include <stdint.h>

/* out[i] = exp(x[i] - shift); returns the sum of out. out may alias x. */
float rk_exp_shift_sum(const float *x, float *out, size_t n, float shift);
/* log(sum_i exp(x[i])) without storing the exponentials. */
float rk_logsumexp(const float *x, size_t n);
float rk_max(const float *x, size_t n);
float rk_dot(const float *x, const float *y, size_t n);
/* row[0..visible) = softmax(row[0..visible)), row[visible..total) = 0 */
void rk_softmax_prefix(float *row, size_t visible, size_t total);
/* As rk_softmax_prefix with keys [gap_start, gap_end) hidden as well (set to 0; the softmax is
   over the rest of [0, visible)): a packed row's answer attending to its shared prompt and to
   itself but not to the answers packed before it. Needs gap_start <= gap_end <= visible and at
   least one visible key outside the gap. */
void rk_softmax_gap(float *row, size_t gap_start, size_t gap_end, size_t visible, size_t total);
/* d[j] = p[j] * (d[j] - sum_k p[k] d[k]) for j < visible, 0 after. */
void rk_softmax_backward_prefix(float *d, const float *p, size_t visible, size_t total);
/* d[j] = g * ((j == target) - exp(logits[j] - lse)); d may alias logits. */
void rk_logprob_backward_row(float *d, const float *logits, size_t n, float lse, float g, long target);
/* AdamW over p[0..n): p *= decay; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)   (torch.optim.AdamW's arithmetic). */
void rk_adamw(float *p, const float *g, float *m, float *v, size_t n, float decay, float beta1, float beta2,
              float step_size, float bc2_sqrt, float eps);
/* out (rows, I) = silu(gate) * up, gateUp (rows, 2I) = [gate | up] per row. */
void rk_swiglu_forward(float *out, const float *gateUp, size_t rows, size_t I);
/* dgateUp (rows, 2I) from dout (rows, I). */
void rk_swiglu_backward(float *dgateUp, const float *dout, const float *gateUp, size_t rows, size_t I);
/* out (M, OC) = x (M, C) . W^T for W (OC, C), for the few rows of a decoding step, restricted to
   output columns [o0, o1) (so threads can split them). Each weight row is read once for all M
   rows: the step is bound by reading the weights, which sgemm would also copy into its packed
   layout first. */
void rk_matmul_rows(float *out, const float *x, const float *W, size_t M, size_t C, size_t OC,
                    size_t o0, size_t o1);
/* Generation's product with bfloat16 weights: out (M, OC) = x (M, C) . W^T for W packed by
   rk_pack_bf16, restricted to output columns [o0, o1) (o0 a multiple of 64, o1 one too or OC).
   The weights are widened to float32 in registers and each output is one chain of float32 FMAs
   over c = 0, 1, ..., C-1 (out = fma(x[c], W[o][c], out)), the same on every kernel set and for
   every M: a row's bits depend on its own inputs only. Half the bytes of float32 to read. */
void rk_matmul_rows_bf16(float *out, const float *x, const uint16_t *W, size_t M, size_t C, size_t OC,
                         size_t o0, size_t o1);
/* Packs W (OC, C) float32 for rk_matmul_rows_bf16, rounded to bfloat16 to nearest even: panels
   p0..p1 of 64 output columns, each (C, 64) with pairs of columns interleaved in 32-bit words
   (kernels_impl.h); the whole is ceil(OC / 64) * 64 * C values. */
void rk_pack_bf16(uint16_t *dst, const float *W, size_t OC, size_t C, size_t p0, size_t p1);
/* dst[i] = src[i] rounded to bfloat16, to nearest even (a NaN stays a NaN, infinities stay). */
void rk_to_bf16(uint16_t *dst, const float *src, size_t n);
/* For tests: rk_matmul_rows (bf16 == 0, W float) or rk_matmul_rows_bf16 (W uint16_t) of one kernel
   set (0 generic, 1 avx2, 2 avx512) whichever is in use; -1 when this CPU cannot run that set. */
int rk_matmul_rows_in_set(int set, int bf16, float *out, const float *x, const void *W, size_t M, size_t C, size_t OC,
                          size_t o0, size_t o1);
/* One query row (HS) against Tk keys and values (rows of stride ldkv): probs (Tk) = softmax(scale q.k),
   out (HS) = probs . v. */
void rk_attention_query(float *out, float *probs, const float *q, const float *k, const float *v, size_t ldkv,
                        size_t Tk, size_t HS, float scale);
/* The kernel set in use: "avx512", "avx2" or "generic". */
const char *rk_kernel_set(void);
/* Scalar exp with the same polynomial, for tests. */
float rk_expf(float x);

/* Pins the calling thread to the given CPU cores (sched_setaffinity on this thread only).
   Returns 0, or the errno (EINVAL for a core outside the set size). */
int rk_pin_current_thread(const int *cores, int count);
/* The cores the calling thread may run on, up to capacity; a negative errno on failure. */
int rk_current_thread_cores(int *cores, int capacity);

#endif
