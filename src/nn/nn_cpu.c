/* nn_cpu.c - instruction sets oneDNN will use here; see nn_cpu.h. */
#include "nn/nn_cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

/* oneDNN's ISA values are bit sets, each a superset of the ones it extends: a level is there
 * when all of its bits are in the effective ISA. */
static const struct {
    unsigned bit;
    unsigned isa;
    const char *name;
} levels[] = {
    {NN_CPU_AVX2, dnnl_cpu_isa_avx2, "AVX2"},
    {NN_CPU_AVX512, dnnl_cpu_isa_avx512_core, "AVX-512"},
    {NN_CPU_AVX512_VNNI, dnnl_cpu_isa_avx512_core_vnni, "AVX512-VNNI"},
    {NN_CPU_AVX512_BF16, dnnl_cpu_isa_avx512_core_bf16, "AVX512-BF16"},
    {NN_CPU_AMX, dnnl_cpu_isa_avx512_core_amx, "AMX"},
    {NN_CPU_AVX2_VNNI, dnnl_cpu_isa_avx2_vnni, "AVX-VNNI"},
};
#define N_LEVELS (sizeof(levels) / sizeof(levels[0]))

unsigned nn_cpu_features(void)
{
    unsigned have = (unsigned)dnnl_get_effective_cpu_isa(), f = 0;

    for (size_t i = 0; i < N_LEVELS; i++)
        if ((have & levels[i].isa) == levels[i].isa)
            f |= levels[i].bit;
    return f;
}

const char *nn_cpu_feature_name(unsigned f)
{
    for (size_t i = 0; i < N_LEVELS; i++)
        if (levels[i].bit == f)
            return levels[i].name;
    return "?";
}

const int32_t nn_cpu_lanes8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static char described[128];
static pthread_once_t described_once = PTHREAD_ONCE_INIT;

static void describe(void)
{
    unsigned f = nn_cpu_features();
    size_t len = 0;

    for (size_t i = 0; i < N_LEVELS; i++)
        if (f & levels[i].bit)
            len += (size_t)snprintf(described + len, sizeof(described) - len, "%s%s",
                                    len ? " " : "", levels[i].name);
    if (!len)
        snprintf(described, sizeof(described), "none");
}

const char *nn_cpu_describe(void)
{
    pthread_once(&described_once, describe);
    return described;
}
