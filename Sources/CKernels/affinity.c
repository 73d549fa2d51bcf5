#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "CKernels.h"

int rk_pin_current_thread(const int *cores, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cores[i] < 0 || cores[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cores[i], &set);
    }
    /* pid 0: the calling thread only (Linux affinity is per thread). */
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

int rk_current_thread_cores(int *cores, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -errno;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < capacity; c++) {
        if (CPU_ISSET(c, &set)) cores[n++] = c;
    }
    return n;
}
