/* The kernels for baseline x86-64 and other CPUs. */
#define RK_NAME(name) name##_generic
#include "kernels_impl.h"
