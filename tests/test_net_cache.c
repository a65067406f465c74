/* test_net_cache.c - warm networks (analyses/net_cache.h) on real ONNX models: the nn fixtures'
 * small graphs copied into a temp folder (so that one can be changed on disk) and the demo
 * model, models/openfield, loaded as vas loads it. Hits and misses, the byte budget with least
 * recently used eviction, an entry in use never evicted, a changed file never served warm, the
 * session options in the key, and a warm run giving the very bytes of a cold one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyses/net_cache.h"
#include "core/digest.h"
#include "model/model_locate.h"
#include "nn/nn.h"
#include "pose/pose_model.h"

#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#define FIX "tests/fixtures/nn"

/* The fixture graphs used, with the input size of their .in.f32 (cases.txt). */
typedef struct net_fx {
    const char *name;
    int n, c, h, w;
} net_fx;

static const net_fx nets[] = {
    {"op_conv_basic", 2, 4, 9, 11},
    {"op_conv_bn_relu", 1, 4, 8, 8},
    {"op_dynamic_size", 2, 4, 9, 11},
};
#define N_NETS 3

typedef struct fx {
    char *dir;
    pose_model m[N_NETS]; /* hand-made ONNX models on copies of the fixtures in dir */
    float *in[N_NETS];    /* their inputs */
} fx;

/* Copies FIX/<name>.onnx into dir and fills m as pose_model_load would for an ONNX bundle
 * (the fields net_cache reads: name, kind, weights, model_cfg, fingerprint). */
static int make_model(fx *f, int i)
{
    char src[256], *buf;
    size_t len = 0;
    pose_model *m = &f->m[i];
    vas_err e = {0};

    snprintf(src, sizeof(src), "%s/%s.onnx", FIX, nets[i].name);
    buf = tu_read_file(src, &len);
    m->name = strdup(nets[i].name);
    m->kind = MODEL_ONNX;
    m->weights = tu_path(f->dir, strrchr(src, '/') + 1);
    m->model_cfg = strdup("");
    if (!buf || !m->name || !m->weights || !m->model_cfg ||
        tu_write_file(m->weights, buf, len) < 0 ||
        digest_file_sha1(m->weights, m->fingerprint, &e) < 0) {
        free(buf);
        return -1;
    }
    free(buf);
    snprintf(src, sizeof(src), "%s/%s.in.f32", FIX, nets[i].name);
    f->in[i] = (float *)tu_read_file(src, &len);
    return f->in[i] &&
                   len == sizeof(float) * (size_t)(nets[i].n * nets[i].c * nets[i].h * nets[i].w)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    fx *f = *state;

    for (int i = 0; i < N_NETS; i++) {
        free(f->m[i].name);
        free(f->m[i].weights);
        free(f->m[i].model_cfg);
        free(f->in[i]);
    }
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));

    *state = f;
    if (!f || !(f->dir = tu_mkdtemp()))
        return -1;
    for (int i = 0; i < N_NETS; i++)
        if (make_model(f, i) < 0)
            return -1;
    return 0;
}

/* Takes model i from c (NULL: no cache), runs its fixture input once, and checks the result
 * against the fixture's expected output; the entry in *out, still in use. */
static void take_run(fx *f, net_cache *c, int i, const nn_options *o, net_cache_entry **out)
{
    const net_fx *n = &nets[i];
    vas_err e = {0};

    assert_int_equal(net_cache_take(c, &f->m[i], o, out, &e), VAS_OK);
    assert_int_equal(nn_session_run(net_cache_session(*out), f->in[i], n->n, n->h, n->w, &e),
                     VAS_OK);
}

/* Takes model i, runs it, gives it back; returns whether the take was a hit. */
static int use(fx *f, net_cache *c, int i)
{
    net_cache_entry *x = NULL;
    int hit;

    take_run(f, c, i, NULL, &x);
    hit = net_cache_hit(x);
    net_cache_give(c, x);
    return hit;
}

static net_cache_counts counts(const net_cache *c)
{
    net_cache_counts n;

    net_cache_count(c, &n);
    return n;
}

/* A second take of the same model is the same graph and session, and its bytes are what nn says
 * the session holds (graph weights + arena + re-ordered weights). */
static void second_take_is_warm(void **state)
{
    fx *f = *state;
    net_cache *c = NULL;
    net_cache_entry *x = NULL, *y = NULL;
    nn_session *s;
    vas_err e = {0};
    size_t want;

    assert_int_equal(net_cache_new((int64_t)1 << 30, &c, &e), VAS_OK);
    take_run(f, c, 0, NULL, &x);
    assert_false(net_cache_hit(x));
    assert_int_equal(counts(c).in_use, 1);
    assert_int_equal(counts(c).bytes, 0); /* in use: not counted against the budget */
    s = net_cache_session(x);
    want = nn_session_bytes(s);
    assert_true(want > nn_session_arena_bytes(s) + nn_session_weight_bytes(s));
    net_cache_give(c, x);
    assert_int_equal(counts(c).entries, 1);
    assert_int_equal(counts(c).in_use, 0);
    assert_int_equal(counts(c).bytes, (int64_t)want);
    take_run(f, c, 0, NULL, &y);
    assert_true(net_cache_hit(y));
    assert_ptr_equal(y, x);
    assert_ptr_equal(net_cache_session(y), s);
    net_cache_give(c, y);
    assert_int_equal(counts(c).hits, 1);
    assert_int_equal(counts(c).misses, 1);
    net_cache_free(c);
}

/* Sizes of the three entries, measured in a cache that keeps everything. */
static void measure(fx *f, int64_t bytes[N_NETS])
{
    net_cache *c = NULL;
    vas_err e = {0};
    int64_t before = 0;

    assert_int_equal(net_cache_new((int64_t)1 << 30, &c, &e), VAS_OK);
    for (int i = 0; i < N_NETS; i++) {
        assert_false(use(f, c, i));
        bytes[i] = counts(c).bytes - before;
        before = counts(c).bytes;
        assert_true(bytes[i] > 0);
    }
    assert_int_equal(counts(c).entries, N_NETS);
    net_cache_free(c);
}

/* A budget for models 0 and 1 but not 2: after 0, 1, 0 again (now the most recent), 2 evicts
 * 1, the least recently used; 0 is still warm, 1 is loaded again. */
static void budget_evicts_least_recently_used(void **state)
{
    fx *f = *state;
    net_cache *c = NULL;
    int64_t b[N_NETS];
    vas_err e = {0};

    measure(f, b);
    assert_int_equal(net_cache_new(b[0] + b[2], &c, &e), VAS_OK);
    assert_false(use(f, c, 0));
    assert_false(use(f, c, 1));
    assert_true(use(f, c, 0));
    assert_false(use(f, c, 2));
    assert_int_equal(counts(c).evictions, 1);
    assert_int_equal(counts(c).entries, 2);
    assert_int_equal(counts(c).bytes, b[0] + b[2]);
    assert_true(use(f, c, 0));
    assert_true(use(f, c, 2));
    assert_false(use(f, c, 1)); /* gone: loaded again, and 0 (now the oldest) makes room */
    assert_true(counts(c).bytes <= b[0] + b[2]);
    assert_int_equal(counts(c).misses, 4);
    assert_int_equal(counts(c).hits, 3);
    net_cache_free(c);
}

/* An entry larger than the whole budget is not kept; a budget of 0 keeps nothing (vas before
 * warm models), and no cache at all neither. */
static void over_budget_and_zero_keep_nothing(void **state)
{
    fx *f = *state;
    net_cache *c = NULL, *z = NULL;
    vas_err e = {0};

    assert_int_equal(net_cache_new(1, &c, &e), VAS_OK);
    assert_false(use(f, c, 0));
    assert_int_equal(counts(c).entries, 0);
    assert_int_equal(counts(c).evictions, 1);
    assert_int_equal(net_cache_new(0, &z, &e), VAS_OK);
    assert_false(use(f, z, 1));
    assert_false(use(f, z, 1));
    assert_int_equal(counts(z).entries, 0);
    assert_int_equal(counts(z).misses, 2);
    assert_false(use(f, NULL, 2));
    assert_false(use(f, NULL, 2));
    net_cache_free(c);
    net_cache_free(z);
}

/* With a budget of 1 byte, giving back model 1 evicts it but never model 0, which is in use; a
 * second take of model 0 meanwhile gets its own entry. A dropped entry is freed. */
static void in_use_is_never_evicted(void **state)
{
    fx *f = *state;
    net_cache *c = NULL;
    net_cache_entry *a = NULL, *a2 = NULL, *b = NULL;
    vas_err e = {0};

    assert_int_equal(net_cache_new(1, &c, &e), VAS_OK);
    take_run(f, c, 0, NULL, &a);
    take_run(f, c, 1, NULL, &b);
    net_cache_give(c, b);
    assert_int_equal(counts(c).entries, 1);
    assert_int_equal(counts(c).in_use, 1);
    take_run(f, c, 0, NULL, &a2);
    assert_false(net_cache_hit(a2));
    assert_ptr_not_equal(a2, a);
    assert_int_equal(counts(c).in_use, 2);
    net_cache_drop(c, a2);
    assert_int_equal(counts(c).entries, 1);
    /* a is still usable after all that */
    assert_int_equal(nn_session_run(net_cache_session(a), f->in[0], 2, 9, 11, &e), VAS_OK);
    net_cache_give(c, a);
    assert_int_equal(counts(c).entries, 0);
    net_cache_free(c);
}

/* A model file changed on disk since its entry was made is never served warm: the stale entry
 * is freed and the file loaded again. Here the same bytes written again (new modification
 * time), then another network written over it. */
static void changed_file_is_a_miss(void **state)
{
    fx *f = *state;
    net_cache *c = NULL;
    struct timespec t[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = 1000000000, .tv_nsec = 5}};
    net_cache_entry *x = NULL;
    vas_err e = {0};
    char *other;
    size_t len = 0;

    assert_int_equal(net_cache_new((int64_t)1 << 30, &c, &e), VAS_OK);
    assert_false(use(f, c, 0));
    assert_true(use(f, c, 0));
    assert_int_equal(utimensat(AT_FDCWD, f->m[0].weights, t, 0), 0);
    assert_false(use(f, c, 0));
    assert_int_equal(counts(c).stale, 1);
    assert_int_equal(counts(c).entries, 1);
    assert_true(use(f, c, 0));
    /* op_dynamic_size's graph in op_conv_basic's place (same input): loaded, and it is the new
     * network that runs (its output differs in size: 594 floats, not 1188) */
    other = tu_read_file(FIX "/op_dynamic_size.onnx", &len);
    assert_non_null(other);
    assert_int_equal(tu_write_file(f->m[0].weights, other, len), 0);
    free(other);
    take_run(f, c, 0, NULL, &x);
    assert_false(net_cache_hit(x));
    {
        const float *out = NULL;
        nn_tensor_info info;
        int64_t n = 1;
        assert_int_equal(nn_session_output(net_cache_session(x), 0, &out, &info, &e), VAS_OK);
        for (int d = 0; d < info.ndims; d++)
            n *= info.dims[d];
        assert_int_equal(n, 594);
    }
    net_cache_give(c, x);
    assert_int_equal(counts(c).stale, 2);
    net_cache_free(c);
}

/* The session's options are part of the key: the same model with another thread count is
 * another entry; each is warm for its own options. */
static void options_are_in_the_key(void **state)
{
    fx *f = *state;
    net_cache *c = NULL;
    nn_options one = {.threads = 1}, two = {.threads = 2};
    net_cache_entry *x = NULL;
    vas_err e = {0};

    assert_int_equal(net_cache_new((int64_t)1 << 30, &c, &e), VAS_OK);
    take_run(f, c, 1, &one, &x);
    assert_false(net_cache_hit(x));
    net_cache_give(c, x);
    take_run(f, c, 1, &two, &x);
    assert_false(net_cache_hit(x));
    net_cache_give(c, x);
    take_run(f, c, 1, &one, &x);
    assert_true(net_cache_hit(x));
    net_cache_give(c, x);
    assert_int_equal(counts(c).entries, 2);
    net_cache_free(c);
}

/* The demo model as vas loads it: a warm session, already planned at another size, gives the
 * same output bytes as a brand-new session at the same input; its bytes grow with the second
 * plan it keeps. */
static void openfield_warm_equals_cold(void **state)
{
    pose_model *m = NULL;
    net_cache *c = NULL;
    net_cache_entry *x = NULL, *cold = NULL;
    const float *a = NULL, *b = NULL;
    nn_tensor_info ia, ib;
    size_t len = 0, one_plan;
    float *in = (float *)tu_read_file(FIX "/net_mobilenetv2_dlc.in.f32", &len); /* 2x3x64x80 */
    vas_err e = {0};

    (void)state;
    assert_non_null(in);
    assert_int_equal(len, sizeof(float) * 2 * 3 * 64 * 80);
    assert_int_equal(pose_model_load("openfield", "models/openfield", 0, &m, &e), VAS_OK);
    assert_int_equal(net_cache_new((int64_t)1 << 30, &c, &e), VAS_OK);
    assert_int_equal(net_cache_take(c, m, NULL, &x, &e), VAS_OK);
    assert_int_equal(nn_session_run(net_cache_session(x), in, 2, 64, 80, &e), VAS_OK);
    net_cache_give(c, x);
    one_plan = (size_t)counts(c).bytes;
    assert_int_equal(net_cache_take(c, m, NULL, &x, &e), VAS_OK);
    assert_true(net_cache_hit(x));
    assert_int_equal(nn_session_run(net_cache_session(x), in, 1, 48, 64, &e), VAS_OK);
    assert_int_equal(nn_session_run(net_cache_session(x), in, 2, 64, 80, &e), VAS_OK);
    assert_int_equal(net_cache_take(NULL, m, NULL, &cold, &e), VAS_OK);
    assert_int_equal(nn_session_run(net_cache_session(cold), in, 2, 64, 80, &e), VAS_OK);
    for (int i = 0; i < nn_graph_n_outputs(net_cache_graph(x)); i++) {
        int64_t n = 1;
        assert_int_equal(nn_session_output(net_cache_session(x), i, &a, &ia, &e), VAS_OK);
        assert_int_equal(nn_session_output(net_cache_session(cold), i, &b, &ib, &e), VAS_OK);
        assert_int_equal(ia.ndims, ib.ndims);
        for (int d = 0; d < ia.ndims; d++)
            n *= ia.dims[d];
        assert_memory_equal(a, b, (size_t)n * sizeof(float));
    }
    net_cache_give(NULL, cold);
    net_cache_give(c, x);
    assert_true((size_t)counts(c).bytes > one_plan);
    net_cache_free(c);
    pose_model_free(m);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(second_take_is_warm, setup, teardown),
        cmocka_unit_test_setup_teardown(budget_evicts_least_recently_used, setup, teardown),
        cmocka_unit_test_setup_teardown(over_budget_and_zero_keep_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(in_use_is_never_evicted, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_file_is_a_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(options_are_in_the_key, setup, teardown),
        cmocka_unit_test(openfield_warm_equals_cold),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
