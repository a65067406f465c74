/* nn_cli.c - `vas nn-run MODEL.onnx [--size WxH] [--batch N] [--threads T] [--bf16 | --int8]
 * [--input FILE] [--output PREFIX] [--runs R]`.
 *
 * With --int8 the first run (the input: FILE or the pseudo-random one) calibrates the int8
 * network in float32, and a second untimed run plans it; the timed runs and --output are int8.
 * Prints the graph summary, runs once to plan (not timed), then R timed runs (default 5) and
 * reports the median as ms per frame plus frames/s and GFLOP/s, on one key=value line that
 * bench/nn parses. With --output each output is written to PREFIX.<name>.f32 (NCHW float32,
 * little-endian), so any model can be checked against another engine from the shell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "nn/nn.h"
#include "nn/nn_cli.h"
#include "nn/nn_cpu.h"

typedef struct cli_args {
    const char *model, *input, *output;
    int w, h, batch, runs;
    nn_options opt;
} cli_args;

static int usage(void)
{
    fprintf(stderr, "usage: vas nn-run MODEL [--size WxH] [--batch N] [--threads T] "
                    "[--bf16 | --int8] [--input FILE] [--output PREFIX] [--runs R] "
                    "[--dw auto|ours|onednn] [--layout auto|nhwc|blocked] [--no-wino] [--no-split] "
                    "[--zp auto|on|off]\n");
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    int64_t v;

    if (!s || util_parse_i64(s, &v) < 0 || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_size(const char *s, int *w, int *h)
{
    char buf[64];
    char *x;

    if (!s || strlen(s) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", s);
    x = strchr(buf, 'x');
    if (!x)
        return -1;
    *x = '\0';
    return parse_int(buf, 1, 16384, w) < 0 || parse_int(x + 1, 1, 16384, h) < 0 ? -1 : 0;
}

static int parse_args(int argc, char **argv, cli_args *a)
{
    memset(a, 0, sizeof(*a));
    a->batch = 1;
    a->runs = 5;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!k)
            return -1;
        if (strcmp(k, "--bf16") == 0 || strcmp(k, "--int8") == 0) {
            a->opt.bf16 |= k[2] == 'b';
            a->opt.int8 |= k[2] == 'i';
            continue;
        }
        if (strcmp(k, "--size") == 0)
            bad = parse_size(v, &a->w, &a->h);
        else if (strcmp(k, "--batch") == 0)
            bad = parse_int(v, 1, 4096, &a->batch);
        else if (strcmp(k, "--threads") == 0)
            bad = parse_int(v, 1, 1024, &a->opt.threads);
        else if (strcmp(k, "--runs") == 0)
            bad = parse_int(v, 1, 100000, &a->runs);
        else if (strcmp(k, "--input") == 0 && v)
            a->input = v;
        else if (strcmp(k, "--output") == 0 && v)
            a->output = v;
        else if (strcmp(k, "--layout") == 0 && v) /* float32 activations (nn.h) */
            bad = strcmp(v, "auto") == 0      ? (a->opt.layout = NN_LAYOUT_AUTO, 0)
                  : strcmp(v, "nhwc") == 0    ? (a->opt.layout = NN_LAYOUT_NHWC, 0)
                  : strcmp(v, "blocked") == 0 ? (a->opt.layout = NN_LAYOUT_BLOCKED, 0)
                                              : -1;
        else if (strcmp(k, "--no-wino") == 0) { /* direct kernels only (nn.h) */
            a->opt.no_wino = 1;
            continue;
        } else if (strcmp(k, "--no-split") == 0) { /* a batch runs whole (nn.h) */
            a->opt.no_split = 1;
            continue;
        } else if (strcmp(k, "--zp") == 0 && v) /* int8's offset u8 values (nn.h) */
            bad = strcmp(v, "auto") == 0  ? (a->opt.int8_zp = NN_ZP_AUTO, 0)
                  : strcmp(v, "on") == 0  ? (a->opt.int8_zp = NN_ZP_ON, 0)
                  : strcmp(v, "off") == 0 ? (a->opt.int8_zp = NN_ZP_OFF, 0)
                                          : -1;
        else if (strcmp(k, "--dw") == 0 && v) /* who runs depthwise convolutions (nn.h) */
            bad = strcmp(v, "auto") == 0     ? (a->opt.dw = NN_DW_AUTO, 0)
                  : strcmp(v, "ours") == 0   ? (a->opt.dw = NN_DW_OURS, 0)
                  : strcmp(v, "onednn") == 0 ? (a->opt.dw = NN_DW_ONEDNN, 0)
                                             : -1;
        else if (k[0] != '-' && !a->model) {
            a->model = k;
            continue;
        } else
            bad = -1;
        if (bad < 0)
            return -1;
        i++;
    }
    return a->model ? 0 : -1;
}

/* Input of n floats: FILE (exactly n floats) or deterministic pseudo-random values. */
static float *make_input(const char *path, size_t n)
{
    float *x = malloc(n * sizeof(float));
    uint32_t r = 2463534242u;
    FILE *f;

    if (!x)
        return NULL;
    if (!path) {
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            x[i] = (float)(r >> 8) / 16777216.0f * 2.0f - 1.0f;
        }
        return x;
    }
    f = fopen(path, "rb");
    if (!f || fread(x, sizeof(float), n, f) != n || fgetc(f) != EOF) {
        fprintf(stderr, "nn-run: %s must hold exactly %zu float32 values\n", path, n);
        free(x);
        x = NULL;
    }
    if (f)
        fclose(f);
    return x;
}

static int write_outputs(const nn_session *s, const nn_graph *g, const char *prefix)
{
    for (int i = 0; i < nn_graph_n_outputs(g); i++) {
        const float *y;
        nn_tensor_info info;
        size_t cnt = 1;
        char path[4096], name[256];
        vas_err e = {0};
        FILE *f;
        if (nn_session_output(s, i, &y, &info, &e) < 0)
            return -1;
        for (int d = 0; d < info.ndims; d++)
            cnt *= (size_t)info.dims[d];
        snprintf(name, sizeof(name), "%s", info.name);
        for (char *c = name; *c; c++)
            if (*c == '/' || *c == '\\')
                *c = '_';
        snprintf(path, sizeof(path), "%s.%s.f32", prefix, name);
        f = fopen(path, "wb");
        if (!f || fwrite(y, sizeof(float), cnt, f) != cnt) {
            fprintf(stderr, "nn-run: cannot write %s\n", path);
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        printf("wrote %s (%zu floats)\n", path, cnt);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Plans with the first run, then times a->runs runs; prints the summary line. */
static int timed_runs(nn_session *s, const cli_args *a, const float *x, vas_err *e)
{
    double *ms = calloc((size_t)a->runs, sizeof(double)), med, t0;

    if (!ms)
        return VAS_ENOMEM;
    t0 = now_ms();
    if (nn_session_run(s, x, a->batch, a->h, a->w, e) < 0) {
        free(ms);
        return e->code;
    }
    printf("plan+first run: %.1f ms; arena %.1f MiB; weights %.1f MiB; layout %s\n", now_ms() - t0,
           (double)nn_session_arena_bytes(s) / 1048576.0,
           (double)nn_session_weight_bytes(s) / 1048576.0, nn_session_layout(s));
    if (a->opt.int8) { /* that run calibrated (float32); this one plans the int8 network */
        t0 = now_ms();
        if (nn_session_run(s, x, a->batch, a->h, a->w, e) < 0) {
            free(ms);
            return e->code;
        }
        printf("int8: calibrated on %lld frames; plan+first int8 run: %.1f ms; %d convolutions "
               "in int8; %d offset u8 values; arena %.1f MiB; weights %.1f MiB\n",
               (long long)nn_session_int8_frames(s), now_ms() - t0, nn_session_int8_convs(s),
               nn_session_int8_offsets(s), (double)nn_session_arena_bytes(s) / 1048576.0,
               (double)nn_session_weight_bytes(s) / 1048576.0);
    }
    for (int i = 0; i < a->runs; i++) {
        t0 = now_ms();
        if (nn_session_run(s, x, a->batch, a->h, a->w, e) < 0) {
            free(ms);
            return e->code;
        }
        ms[i] = (now_ms() - t0) / a->batch;
    }
    qsort(ms, (size_t)a->runs, sizeof(double), cmp_double);
    med = ms[a->runs / 2];
    printf("result size=%dx%d batch=%d threads=%d bf16=%d int8=%d ms_per_frame=%.2f fps=%.2f "
           "gflops=%.1f gflop_per_frame=%.2f\n",
           a->w, a->h, a->batch, a->opt.threads, a->opt.bf16, a->opt.int8, med, 1000.0 / med,
           nn_session_flops(s) / a->batch / (med * 1e6), nn_session_flops(s) / a->batch / 1e9);
    free(ms);
    return VAS_OK;
}

static int run_model(const cli_args *a, nn_graph *g)
{
    nn_options o = a->opt;
    nn_session *s = NULL;
    nn_tensor_info in;
    vas_err e = {0};
    float *x = NULL;
    char sum[4096];
    int rc;

    nn_graph_input(g, &in);
    nn_graph_summary(g, sum, sizeof(sum));
    printf("model %s: %d nodes, input '%s' %lld x %lld x %lld x %lld\n%s", a->model,
           nn_graph_n_nodes(g), in.name, (long long)in.dims[0], (long long)in.dims[1],
           (long long)in.dims[2], (long long)in.dims[3], sum);
    printf("cpu features oneDNN uses: %s\n", nn_cpu_describe());
    x = make_input(a->input, (size_t)a->batch * (size_t)in.dims[1] * (size_t)a->h * (size_t)a->w);
    if (!x)
        return 1;
    o.int8_frames = a->batch; /* --int8: the first run calibrates */
    rc = nn_session_new(g, &o, &s, &e);
    if (rc >= 0)
        rc = timed_runs(s, a, x, &e);
    if (rc < 0)
        fprintf(stderr, "nn-run: %s\n", e.msg);
    else if (a->output && write_outputs(s, g, a->output) < 0)
        rc = -1;
    nn_session_free(s);
    free(x);
    return rc < 0 ? 1 : 0;
}

int nn_cli_main(int argc, char **argv)
{
    return nn_cli_main_with(argc, argv, nn_graph_load);
}

int nn_cli_main_with(int argc, char **argv, nn_cli_loader load)
{
    cli_args a;
    nn_graph *g = NULL;
    nn_tensor_info in;
    vas_err e = {0};
    int rc;

    if (parse_args(argc, argv, &a) < 0)
        return usage();
    if (load(a.model, &g, &e) < 0) {
        fprintf(stderr, "nn-run: %s\n", e.msg);
        return 1;
    }
    nn_graph_input(g, &in);
    if (!a.w) {
        a.w = in.dims[3] > 0 ? (int)in.dims[3] : 640;
        a.h = in.dims[2] > 0 ? (int)in.dims[2] : 480;
    }
    if (in.dims[0] > 0 && a.batch == 1)
        a.batch = (int)in.dims[0];
    rc = run_model(&a, g);
    nn_graph_free(g);
    return rc;
}
