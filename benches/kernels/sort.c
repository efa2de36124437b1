/* Sorts n (<= 100000) LCG-generated ints with our own quicksort
 * (median-of-three, insertion sort for small ranges, recursion on the
 * smaller half). Returns a position-weighted checksum of the result. */
#include "kernels.h"

#define SORT_MAX 100000

static int32_t sort_data[SORT_MAX];

static void insertion_sort(int32_t *a, int32_t lo, int32_t hi) {
    for (int32_t i = lo + 1; i <= hi; i++) {
        int32_t v = a[i];
        int32_t j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap(int32_t *a, int32_t i, int32_t j) {
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void quicksort(int32_t *a, int32_t lo, int32_t hi) {
    while (hi - lo > 16) {
        int32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swap(a, mid, lo);
        if (a[hi] < a[lo]) swap(a, hi, lo);
        if (a[hi] < a[mid]) swap(a, hi, mid);
        int32_t pivot = a[mid];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                swap(a, i, j);
                i++;
                j--;
            }
        }
        /* Recurse into the smaller side so depth stays O(log n). */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

KERNEL_EXPORT int64_t run_sort(int32_t n) {
    n = clamp_n(n, 1, SORT_MAX);
    uint32_t seed = 42;
    for (int32_t i = 0; i < n; i++) {
        sort_data[i] = (int32_t)lcg_next(&seed);
    }
    quicksort(sort_data, 0, n - 1);
    int64_t sum = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i > 0 && sort_data[i - 1] > sort_data[i]) {
            return -1; /* not sorted: make the checksum comparison fail */
        }
        sum += (int64_t)sort_data[i] * (i % 1021 + 1);
    }
    return sum;
}
