/* nn_cpu.h - the instruction sets the network code can use on this machine, at run time.
 *
 * Owns: one answer to "which x86-64 extensions will oneDNN use here", read from oneDNN's own
 * dispatch (dnnl_get_effective_cpu_isa), so it honours the ONEDNN_MAX_CPU_ISA limit a user or a
 * test sets (ONEDNN_MAX_CPU_ISA=AVX2 makes an AVX-512 machine behave as an AVX2 one).
 * Not: choosing kernels (oneDNN does that) or anything outside src/nn.
 *
 * Threads: any; the answer is computed by oneDNN once and never changes in a process. */
#ifndef VAS_NN_CPU_H
#define VAS_NN_CPU_H

#include <stdint.h>

/* Feature bits; each later one implies the ones before it except NN_CPU_AVX2_VNNI. */
enum {
    NN_CPU_AVX2 = 1u << 0,        /* AVX2 + FMA: the baseline oneDNN's fast fp32 kernels need */
    NN_CPU_AVX512 = 1u << 1,      /* AVX-512 F/BW/VL/DQ (oneDNN's avx512_core) */
    NN_CPU_AVX512_VNNI = 1u << 2, /* AVX-512 VNNI: int8 dot products */
    NN_CPU_AVX512_BF16 = 1u << 3, /* AVX-512 BF16: bfloat16 dot products (--bf16) */
    NN_CPU_AMX = 1u << 4,         /* AMX tiles */
    NN_CPU_AVX2_VNNI = 1u << 5,   /* AVX-VNNI on AVX2 machines */
};

/* The NN_CPU_* bits oneDNN will use in this process. */
unsigned nn_cpu_features(void);
/* The name people know feature bit f by ("AVX512-BF16"); "?" for anything else. Static string. */
const char *nn_cpu_feature_name(unsigned f);
/* Space-separated names of every feature in nn_cpu_features(), or "none" (static buffer, made
 * once: safe from any thread). For logs and `vas nn-run`. */
const char *nn_cpu_describe(void);

/* For AVX2 loops over channels: the mask of the first n of 8 lanes (n = 0..8), as maskload and
 * maskstore take it, is the 8 int32 at nn_cpu_lanes8 + 8 - n. */
extern const int32_t nn_cpu_lanes8[16];

#endif
