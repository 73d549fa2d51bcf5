/* The kernels for baseline x86-64 and other CPUs. */
#define RK_KB 2
#define RK_MB 2
#define RK_PANEL_ROWS 2
#define RK_PANEL_WORDS 1
#define RK_NAME(name) name##_generic
#include "kernels_impl.h"
