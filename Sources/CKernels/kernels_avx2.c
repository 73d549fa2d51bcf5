#if defined(__x86_64__)
/* The kernels for CPUs with AVX2. */
#define RK_KB 2
#define RK_MB 2
#define RK_PANEL_ROWS 2
#define RK_PANEL_WORDS 1
#define RK_NAME(name) name##_avx2
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "kernels_impl.h"
#pragma clang attribute pop
#endif
