/* All-pairs shortest paths, in the shape of PolyBench's floyd-warshall, on
 * a random directed graph of n <= 256 nodes (int32 weights 1..1024, about
 * a quarter of the edges missing). Integer min/add only, so the result is
 * exact. Returns a checksum of the distance matrix. */
#include "kernels.h"

#define FW_MAX 256
/* "No path": large enough to lose every comparison with a real path,
 * small enough that two of them add without overflow. */
#define FW_INF (1 << 28)

static int32_t fw_dist[FW_MAX * FW_MAX];

KERNEL_EXPORT int64_t run_floyd_warshall(int32_t n) {
    n = clamp_n(n, 1, FW_MAX);
    uint32_t seed = 1959;
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < n; j++) {
            uint32_t r = lcg_next(&seed);
            int32_t w = (r >> 30) == 0 ? FW_INF : (int32_t)((r >> 8) & 1023) + 1;
            fw_dist[i * n + j] = i == j ? 0 : w;
        }
    }
    for (int32_t k = 0; k < n; k++) {
        for (int32_t i = 0; i < n; i++) {
            int32_t dik = fw_dist[i * n + k];
            for (int32_t j = 0; j < n; j++) {
                int32_t through = dik + fw_dist[k * n + j];
                if (through < fw_dist[i * n + j]) {
                    fw_dist[i * n + j] = through;
                }
            }
        }
    }
    int64_t sum = 0;
    for (int32_t i = 0; i < n * n; i++) {
        sum = sum * 31 + fw_dist[i];
    }
    return sum;
}
