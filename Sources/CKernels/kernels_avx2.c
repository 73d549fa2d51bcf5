#if defined(__x86_64__)
/* The kernels for CPUs with AVX2. */
#define RK_NAME(name) name##_avx2
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#include "kernels_impl.h"
#pragma clang attribute pop
#endif
