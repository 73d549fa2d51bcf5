#if defined(__x86_64__)
/* The kernels for CPUs with AVX512. */
#define RK_NAME(name) name##_avx512
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))), apply_to = function)
#include "kernels_impl.h"
#pragma clang attribute pop
#endif
