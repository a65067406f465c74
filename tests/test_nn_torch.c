/* test_nn_torch.c - the .pt reader (nn_torch) against files torch.save wrote, made by
 * tools/make-pt-fixtures.py into $VAS_FIXTURES/pt: containers and scalars, every dtype, views
 * and shared storages, parameters, DeepLabCut 3 snapshots (numpy metrics) and exports, the forms
 * newer torch writes; and files that must be refused: code in the pickle (os.system, eval, a
 * whole module), lies about tensor sizes, truncation, the legacy format, a big-endian file. The
 * pickle machine is also fed thousands of mutated data.pkl files straight from memory. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nn/nn_torch.h"
#include "nn/nn_torch_int.h"

#include "testutil.h"

static char fx_path[1024];

/* $VAS_FIXTURES/pt/<name> (in a static buffer); NULL with the test skipped if not made. */
static const char *fx(const char *name)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    const char *d = getenv("VAS_FIXTURES");

    snprintf(fx_path, sizeof(fx_path), "%s/pt/%s", d ? d : "build/test/fixtures", name);
    return fx_path;
}

static int have_fixtures(void)
{
    if (access(fx("tensors.txt"), R_OK) == 0)
        return 1;
    print_message("skipped: no .pt fixtures at %s (tools/make-pt-fixtures.py makes them when "
                  "the tests are built)\n",
                  fx_path);
    return 0;
}

static nn_pt *load_ok(const char *name)
{
    nn_pt *r = NULL;
    vas_err e = {0};

    if (nn_pt_load(fx(name), &r, &e) != VAS_OK)
        fail_msg("nn_pt_load %s: %s", name, e.msg);
    return r;
}

/* Loading name fails with code and a message holding needle; *out is left alone. */
static void refused(const char *name, int code, const char *needle)
{
    nn_pt *sentinel = (nn_pt *)&fx_path, *r = sentinel;
    vas_err e = {0};
    int rc = nn_pt_load(fx(name), &r, &e);

    if (rc != code || !strstr(e.msg, needle))
        fail_msg("%s: rc %d (want %d), message '%s' (want '%s' in it)", name, rc, code, e.msg,
                 needle);
    assert_ptr_equal(r, sentinel);
}

static const nn_pt *get(const nn_pt *o, const char *key)
{
    const nn_pt *v = nn_pt_get(o, key);

    if (!v)
        fail_msg("no key '%s'", key);
    return v;
}

/* ---- containers and scalars ---- */

static void containers_and_scalars(void **state)
{
    nn_pt *r;
    const nn_pt *l, *t, *n;

    (void)state;
    if (!have_fixtures())
        skip();
    r = load_ok("basic.pt");
    assert_int_equal(nn_pt_type(r), NN_PT_DICT);
    assert_int_equal(nn_pt_len(r), 21);
    assert_string_equal(nn_pt_key(r, 0), "none");
    assert_int_equal(nn_pt_type(get(r, "none")), NN_PT_NONE);
    assert_int_equal(nn_pt_type(get(r, "yes")), NN_PT_BOOL);
    assert_int_equal(nn_pt_int(get(r, "yes")), 1);
    assert_int_equal(nn_pt_int(get(r, "no")), 0);
    assert_int_equal(nn_pt_int(get(r, "i")), 7);
    assert_int_equal(nn_pt_int(get(r, "neg")), -3);
    assert_int_equal(nn_pt_int(get(r, "i16")), 40000);
    assert_int_equal(nn_pt_int(get(r, "i32")), -2000000000);
    assert_true(nn_pt_int(get(r, "big")) == (int64_t)1 << 40);
    assert_true(nn_pt_int(get(r, "bigneg")) == -((int64_t)1 << 62));
    assert_true(nn_pt_int(get(r, "max")) == INT64_MAX);
    assert_true(nn_pt_float(get(r, "float")) == 1.25);
    assert_true(nn_pt_float(get(r, "tiny")) == -1e-300);
    assert_true(nn_pt_float(get(r, "i")) == 7.0);
    assert_string_equal(nn_pt_str(get(r, "str")), "h\xc3\xa9llo \xe2\x98\x83");
    assert_string_equal(nn_pt_str(get(r, "empty_str")), "");
    l = get(r, "list");
    assert_int_equal(nn_pt_type(l), NN_PT_LIST);
    assert_int_equal(nn_pt_len(l), 5);
    assert_int_equal(nn_pt_int(nn_pt_at(l, 0)), 1);
    assert_true(nn_pt_float(nn_pt_at(l, 1)) == 2.5);
    assert_string_equal(nn_pt_str(nn_pt_at(l, 2)), "x");
    assert_int_equal(nn_pt_type(nn_pt_at(l, 3)), NN_PT_NONE);
    assert_int_equal(nn_pt_int(nn_pt_at(nn_pt_at(l, 4), 0)), 1);
    t = get(r, "tuple");
    assert_int_equal(nn_pt_type(t), NN_PT_LIST);
    assert_int_equal(nn_pt_int(nn_pt_at(nn_pt_at(t, 1), 1)), 3);
    assert_string_equal(nn_pt_key(get(r, "od"), 0), "b"); /* file order, not sorted */
    assert_int_equal(nn_pt_int(get(get(r, "od"), "a")), 2);
    n = get(get(get(get(r, "nested"), "a"), "b"), "c");
    assert_int_equal(nn_pt_int(get(nn_pt_at(n, 0), "d")), 4);
    assert_int_equal(nn_pt_len(get(r, "empty_list")), 0);
    assert_int_equal(nn_pt_type(get(r, "empty_dict")), NN_PT_DICT);
    assert_int_equal(nn_pt_len(get(r, "intkeys")), 2);
    assert_null(nn_pt_key(get(r, "intkeys"), 0)); /* an int key: no string */
    assert_string_equal(nn_pt_str(nn_pt_at(get(r, "intkeys"), 1)), "two");
    /* wrong types and ranges give NULL/0, never a crash */
    assert_null(nn_pt_get(l, "x"));
    assert_null(nn_pt_at(l, 5));
    assert_null(nn_pt_at(l, -1));
    assert_null(nn_pt_str(get(r, "i")));
    assert_int_equal(nn_pt_int(get(r, "str")), 0);
    assert_null(nn_pt_data(l));
    assert_null(nn_pt_dims(l));
    assert_null(nn_pt_dtype(l));
    assert_int_equal(nn_pt_len(NULL), 0);
    assert_null(nn_pt_get(r, "missing"));
    nn_pt_free(r);
    nn_pt_free(NULL);
}

/* ---- tensors against torch's own .float() ---- */

/* The object at a '/'-joined path of dict keys and list indices. */
static const nn_pt *walk(const nn_pt *o, const char *path)
{
    char buf[512], *save = NULL, *part;

    snprintf(buf, sizeof(buf), "%s", path);
    for (part = strtok_r(buf, "/", &save); part && o; part = strtok_r(NULL, "/", &save)) {
        const nn_pt *next = nn_pt_type(o) == NN_PT_LIST ? nn_pt_at(o, (int)strtol(part, NULL, 10))
                                                        : nn_pt_get(o, part);
        for (int i = 0; !next && i < nn_pt_len(o); i++) /* an int key (optimizer state) */
            if (nn_pt_type(nn_pt_key_obj(o, i)) == NN_PT_INT &&
                nn_pt_int(nn_pt_key_obj(o, i)) == strtol(part, NULL, 10))
                next = nn_pt_at(o, i);
        o = next;
    }
    return o;
}

/* Checks one tensors.txt line; the max |difference| into *diff. */
static void check_tensor(const nn_pt *root, const char *line, double *diff)
{
    char file[128], path[256], dtype[32], vals[64];
    int idx, ndims, pos = 0;
    const nn_pt *t;
    int64_t numel = 1;
    size_t len = 0;
    float *want;

    assert_int_equal(
        sscanf(line, "%d %127s %255s %31s %d%n", &idx, file, path, dtype, &ndims, &pos), 5);
    t = walk(root, path);
    if (!t || nn_pt_type(t) != NN_PT_TENSOR)
        fail_msg("%s: no tensor at %s", file, path);
    assert_string_equal(nn_pt_dtype(t), dtype);
    assert_int_equal(nn_pt_ndims(t), ndims);
    for (int k = 0; k < ndims; k++) {
        long long d = 0;
        int used = 0;
        assert_int_equal(sscanf(line + pos, "%lld%n", &d, &used), 1);
        pos += used;
        assert_true(nn_pt_dims(t)[k] == d);
        numel *= d;
    }
    assert_true(nn_pt_numel(t) == numel);
    snprintf(vals, sizeof(vals), "vals/%d.f32", idx);
    want = (float *)tu_read_file(fx(vals), &len);
    assert_non_null(want);
    assert_true(len == (size_t)numel * sizeof(float));
    assert_non_null(nn_pt_data(t));
    for (int64_t k = 0; k < numel; k++) {
        float a = nn_pt_data(t)[k], b = want[k];
        if (!(a == b || (isnan(a) && isnan(b))))
            fail_msg("%s %s[%lld]: %.9g, torch says %.9g", file, path, (long long)k, a, b);
        if (isfinite(a) && fabs((double)a - b) > *diff)
            *diff = fabs((double)a - b);
    }
    free(want);
}

static void tensors_match_torch(void **state)
{
    char *list, *save = NULL, loaded[128] = "";
    nn_pt *root = NULL;
    int n = 0, files = 0;
    double diff = 0;

    (void)state;
    if (!have_fixtures())
        skip();
    list = tu_read_file(fx("tensors.txt"), NULL);
    assert_non_null(list);
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char file[128];
        assert_int_equal(sscanf(line, "%*d %127s", file), 1);
        if (strcmp(file, loaded) != 0) {
            nn_pt_free(root);
            root = load_ok(file);
            snprintf(loaded, sizeof(loaded), "%s", file);
            files++;
        }
        check_tensor(root, line, &diff);
        n++;
    }
    nn_pt_free(root);
    free(list);
    print_message("%d tensors in %d files equal torch's float32 values (max |diff| %g)\n", n, files,
                  diff);
    assert_true(n >= 90);
    assert_true(diff == 0);
}

/* Views of one storage are each their own copy, and agree with each other. */
static void views_share_storage(void **state)
{
    nn_pt *r;
    const float *base, *row, *col, *sub;

    (void)state;
    if (!have_fixtures())
        skip();
    r = load_ok("views.pt");
    base = nn_pt_data(get(r, "base"));
    row = nn_pt_data(get(r, "row"));
    col = nn_pt_data(get(r, "col"));
    sub = nn_pt_data(get(r, "sub"));
    for (int j = 0; j < 8; j++)
        assert_true(row[j] == base[2 * 8 + j]);
    for (int i = 0; i < 6; i++)
        assert_true(col[i] == base[i * 8 + 3]);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            assert_true(sub[i * 5 + j] == base[(i + 1) * 8 + j + 2]);
    assert_true(nn_pt_data(get(r, "expand"))[5] == 0.0f);
    assert_true(nn_pt_data(get(r, "expand"))[3 * 6 + 2] == 3.0f);
    nn_pt_free(r);
}

/* ---- DeepLabCut 3 files ---- */

static void check_snapshot(const char *name)
{
    nn_pt *r = load_ok(name);
    const nn_pt *meta = get(r, "metadata"), *m = get(meta, "metrics"), *model = get(r, "model");
    const nn_pt *nbt;

    assert_int_equal(nn_pt_int(get(meta, "epoch")), 12);
    assert_int_equal(nn_pt_type(get(m, "test.rmse")), NN_PT_FLOAT);
    assert_true(nn_pt_float(get(m, "test.rmse")) == 2.718281828459045);
    assert_true(nn_pt_float(get(m, "test.rmse_pcutoff")) == -0.5);
    assert_true(nn_pt_float(get(m, "test.mAP")) == 0.75);
    assert_int_equal(nn_pt_type(get(m, "steps")), NN_PT_INT);
    assert_int_equal(nn_pt_int(get(m, "steps")), -7);
    assert_int_equal(nn_pt_int(get(m, "count")), 42);
    assert_true(nn_pt_float(get(m, "plain")) == 1.5);
    assert_int_equal(nn_pt_len(model), 10);
    assert_string_equal(nn_pt_key(model, 0), "backbone.model.conv1.weight");
    nbt = get(model, "backbone.model.bn2.num_batches_tracked");
    assert_string_equal(nn_pt_dtype(nbt), "int64");
    assert_int_equal(nn_pt_ndims(nbt), 0);
    assert_true(nn_pt_data(nbt)[0] == 1234.0f);
    nn_pt_free(r);
}

static void dlc3_snapshot(void **state)
{
    static const char *const names[] = {"snapshot.pt",    "snapshot_p3.pt",  "snapshot_p4.pt",
                                        "snapshot_p5.pt", "snapshot_np2.pt", "little.pt",
                                        "snapshot_opt.pt"};
    const nn_pt *pg, *st;
    nn_pt *r;

    (void)state;
    if (!have_fixtures())
        skip();
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        check_snapshot(names[k]);
    /* the optimizer's state: int keys, a tuple, None, a 0-dim step */
    r = load_ok("snapshot_opt.pt");
    pg = nn_pt_at(get(get(r, "optimizer"), "param_groups"), 0);
    assert_true(nn_pt_float(get(pg, "lr")) == 0.001);
    assert_true(nn_pt_float(nn_pt_at(get(pg, "betas"), 1)) == 0.999);
    assert_int_equal(nn_pt_type(get(pg, "foreach")), NN_PT_NONE);
    assert_int_equal(nn_pt_int(nn_pt_at(get(pg, "params"), 3)), 3);
    st = get(get(r, "optimizer"), "state");
    assert_int_equal(nn_pt_len(st), 4);
    assert_int_equal(nn_pt_type(nn_pt_key_obj(st, 2)), NN_PT_INT);
    assert_int_equal(nn_pt_int(nn_pt_key_obj(st, 2)), 2);
    assert_null(nn_pt_key(st, 2));
    assert_true(nn_pt_data(get(nn_pt_at(st, 0), "step"))[0] == 1.0f);
    nn_pt_free(r);
}

static void dlc3_export(void **state)
{
    nn_pt *r;
    const nn_pt *cfg, *bp, *inf, *ts;

    (void)state;
    if (!have_fixtures())
        skip();
    r = load_ok("export.pt");
    cfg = get(r, "config");
    assert_string_equal(nn_pt_str(get(cfg, "net_type")), "resnet_50");
    assert_int_equal(nn_pt_type(get(get(cfg, "metadata"), "project_path")), NN_PT_NONE);
    bp = get(get(cfg, "metadata"), "bodyparts");
    assert_int_equal(nn_pt_len(bp), 4);
    assert_string_equal(nn_pt_str(nn_pt_at(bp, 3)), "tailbase");
    inf = get(get(cfg, "data"), "inference");
    assert_int_equal(nn_pt_int(get(inf, "normalize_images")), 1);
    assert_true(nn_pt_float(get(inf, "scale")) == 0.5);
    assert_int_equal(nn_pt_int(get(get(get(cfg, "model"), "backbone"), "output_stride")), 16);
    ts = get(cfg, "train_settings");
    assert_true(nn_pt_float(get(ts, "lr")) == 1e-4);
    assert_int_equal(nn_pt_int(nn_pt_at(get(ts, "milestones"), 1)), 120);
    assert_int_equal(nn_pt_len(get(r, "pose")), 10);
    assert_int_equal(nn_pt_ndims(get(get(r, "pose"), "backbone.model.conv1.weight")), 4);
    nn_pt_free(r);
}

/* ---- refusals ---- */

static void refuses_code(void **state)
{
    const char *marker = "/tmp/vas-nn-torch-pwned"; /* what the os.system pickle would make */

    (void)state;
    if (!have_fixtures())
        skip();
    unlink(marker);
    refused("evil_os.pt", VAS_EINVAL, "global posix.system, which vas refuses");
    assert_int_equal(access(marker, F_OK), -1);
    refused("evil_eval.pt", VAS_EINVAL, "global builtins.eval, which vas refuses");
    refused("evil_module.pt", VAS_EINVAL, "global torch.nn.modules.linear.Linear");
    refused("qtensor.pt", VAS_EINVAL, "global torch._utils._rebuild_qtensor");
}

static void refuses_bad_files(void **state)
{
    (void)state;
    if (!have_fixtures())
        skip();
    refused("legacy.pt", VAS_EUNSUPPORTED, "save it again with torch >= 1.6");
    refused("notzip.pt", VAS_EINVAL, "not a PyTorch .pt file");
    refused("bigendian.pt", VAS_EUNSUPPORTED, "big-endian");
    refused("missing_storage.pt", VAS_EINVAL, "no entry archive/data/0");
    refused("bare_storage.pt", VAS_EINVAL, "a storage outside any tensor");
    refused("cycle.pt", VAS_EINVAL, "contains itself");
    refused("no-such-file.pt", VAS_ENOTFOUND, "cannot open");
    { /* no vas_err: still refused, no crash */
        nn_pt *r = NULL;
        assert_int_equal(nn_pt_load(fx("evil_os.pt"), &r, NULL), VAS_EINVAL);
        assert_int_equal(nn_pt_load(fx("cutpkl3.pt"), &r, NULL), VAS_EINVAL);
        assert_int_equal(nn_pt_load(fx("huge.pt"), &r, NULL), VAS_ETOOBIG);
        assert_null(r);
    }
    for (int k = 0; k < 8; k++) {
        char name[32];
        snprintf(name, sizeof(name), "cutpkl%d.pt", k);
        refused(name, VAS_EINVAL, "is damaged");
    }
}

static void refuses_tensor_lies(void **state)
{
    (void)state;
    if (!have_fixtures())
        skip();
    refused("oversize.pt", VAS_EINVAL, "reaching element 199 of storage '0', which holds 100");
    refused("stride_over.pt", VAS_EINVAL, "reaching element 108 of storage '0'");
    refused("offset_over.pt", VAS_EINVAL, "reaching element 104 of storage '0'");
    refused("claim_over.pt", VAS_EINVAL, "claims 1000 float32 values (4000 bytes) but its entry");
    /* 2^31 claimed floats in a 1 MiB file: refused before anything is allocated (under ASan an
     * 8 GiB malloc would abort the test) */
    refused("huge.pt", VAS_ETOOBIG, "more than vas reads");
    refused("huge_shape.pt", VAS_EINVAL, "which holds 262144");
    refused("expand_bomb.pt", VAS_ETOOBIG, "more than a file of");
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every cut of a real file is refused, none crashes. */
static void refuses_truncated(void **state)
{
    tu_dir_fx *f = *state;
    size_t len = 0;
    char *whole;
    int cuts = 0;

    if (!have_fixtures())
        skip();
    whole = tu_read_file(fx("snapshot.pt"), &len);
    assert_non_null(whole);
    for (size_t cut = 0; cut < len; cut += cut < 64 || cut + 64 > len ? 1 : 61) {
        nn_pt *r = NULL;
        vas_err e = {0};
        const char *p = tu_dir_file(f, "cut.pt");

        assert_int_equal(tu_write_file(p, whole, cut), 0);
        if (nn_pt_load(p, &r, &e) == VAS_OK)
            fail_msg("the first %zu of %zu bytes were read", cut, len);
        assert_null(r);
        assert_true(e.msg[0] != '\0');
        cuts++;
    }
    print_message("%d cuts of snapshot.pt (%zu bytes) all refused\n", cuts, len);
    free(whole);
}

/* Bytes changed in the zip's own records (the first local header, the central directory and
 * end record at the tail) are refused or read, never a crash. */
static void refuses_zip_mutations(void **state)
{
    tu_dir_fx *f = *state;
    uint64_t seed = 0x2545f4914f6cdd1dull;
    size_t len = 0;
    char *whole, *m;
    int ok = 0, runs = 400;

    if (!have_fixtures())
        skip();
    whole = tu_read_file(fx("snapshot.pt"), &len);
    assert_non_null(whole);
    assert_true(len > 1024);
    m = malloc(len);
    assert_non_null(m);
    for (int it = 0; it < runs; it++) {
        const char *p = tu_dir_file(f, "mut.pt");
        nn_pt *r = NULL;
        vas_err e = {0};

        memcpy(m, whole, len);
        for (int k = 0; k < 1 + it % 3; k++) {
            size_t at = rng_next(&seed) % 1024;
            m[at < 64 ? at : len - 1 - at] = (char)rng_next(&seed);
        }
        assert_int_equal(tu_write_file(p, m, len), 0);
        if (nn_pt_load(p, &r, &e) == VAS_OK)
            ok++;
        else
            assert_true(e.msg[0] != '\0');
        nn_pt_free(r);
    }
    print_message("%d zips with changed records: %d read, %d refused\n", runs, ok, runs - ok);
    free(m);
    free(whole);
}

/* ---- the pickle machine on mutated pickles ---- */

static int fuzz_one(const unsigned char *pkl, size_t len)
{
    pt_doc *d = pt_doc_new();
    int *tensors = NULL, n = 0, rc;
    vas_err e = {0};

    assert_non_null(d);
    rc = pt_unpickle(d, pkl, len, "fuzz", &e);
    if (rc == VAS_OK)
        rc = pt_check_tree(d, "fuzz", 1 << 20, &tensors, &n, &e);
    if (rc < 0)
        assert_true(e.msg[0] != '\0');
    free(tensors);
    pt_doc_free(d);
    return rc == VAS_OK;
}

static void pickle_mutations(void **state)
{
    static const char *const names[] = {"snapshot.pkl", "export.pkl"};
    static const unsigned char ops[] = {'(', 't', 'R', 'b', 'Q',  'u',  's',  'a', 'e', 'h', 'q',
                                        'j', 'r', 'X', 'J', 0x8a, 0x81, 0x85, '.', '}', ']', ')'};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int ok = 0, runs = 0;

    (void)state;
    if (!have_fixtures())
        skip();
    for (size_t f = 0; f < 2; f++) {
        size_t len = 0;
        unsigned char *pkl = (unsigned char *)tu_read_file(fx(names[f]), &len), *m;
        assert_non_null(pkl);
        assert_true(fuzz_one(pkl, len));
        m = malloc(len);
        assert_non_null(m);
        for (int it = 0; it < 3000; it++, runs++) {
            int edits = 1 + (int)(rng_next(&seed) % 4);
            memcpy(m, pkl, len);
            for (int k = 0; k < edits; k++) {
                size_t at = rng_next(&seed) % len;
                uint64_t how = rng_next(&seed);
                m[at] = how % 3 == 0   ? ops[(how >> 8) % sizeof(ops)]
                        : how % 3 == 1 ? (unsigned char)(how >> 8)
                                       : (unsigned char)(m[at] ^ (1u << ((how >> 8) % 8)));
            }
            ok += fuzz_one(m, it % 10 == 9 ? rng_next(&seed) % len : len);
        }
        free(m);
        free(pkl);
    }
    print_message("%d mutated pickles: %d read, %d refused, none crashed\n", runs, ok, runs - ok);
}

/* ---- a full-size ResNet-50 ---- */

static void resnet50_full_size(void **state)
{
    char *list, *save = NULL;
    struct timespec t0, t1;
    nn_pt *r;
    int n = 0;
    int64_t floats = 0;

    (void)state;
    if (!have_fixtures())
        skip();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = load_ok("resnet50.pt");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    list = tu_read_file(fx("resnet50.txt"), NULL);
    assert_non_null(list);
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        char key[128], dtype[32];
        int ndims, pos = 0;
        double sum, sumsq, s = 0, s2 = 0, first, last;
        const nn_pt *t;
        const float *v;

        assert_int_equal(sscanf(line, "%127s %31s %d%n", key, dtype, &ndims, &pos), 3);
        for (int k = 0; k < ndims; k++) {
            int used = 0;
            assert_int_equal(sscanf(line + pos, "%*d%n", &used), 0);
            pos += used;
        }
        assert_int_equal(sscanf(line + pos, "%lf %lf %lf %lf", &sum, &sumsq, &first, &last), 4);
        t = get(r, key);
        assert_string_equal(nn_pt_key(r, n), key);
        assert_string_equal(nn_pt_dtype(t), dtype);
        assert_int_equal(nn_pt_ndims(t), ndims);
        v = nn_pt_data(t);
        for (int64_t k = 0; k < nn_pt_numel(t); k++)
            s += v[k], s2 += (double)v[k] * v[k];
        assert_true(fabs(s - sum) <= 1e-9 * (1 + sumsq));
        assert_true(fabs(s2 - sumsq) <= 1e-9 * (1 + sumsq));
        assert_true(v[0] == (float)first);
        assert_true(v[nn_pt_numel(t) - 1] == (float)last);
        floats += nn_pt_numel(t);
    }
    assert_int_equal(nn_pt_len(r), n);
    assert_true(n > 300);
    print_message("resnet50.pt: %d tensors, %lld values (%.1f MB) read in %.3f s\n", n,
                  (long long)floats, floats * 4 / 1e6,
                  (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    free(list);
    nn_pt_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(containers_and_scalars),
        cmocka_unit_test(tensors_match_torch),
        cmocka_unit_test(views_share_storage),
        cmocka_unit_test(dlc3_snapshot),
        cmocka_unit_test(dlc3_export),
        cmocka_unit_test(refuses_code),
        cmocka_unit_test(refuses_bad_files),
        cmocka_unit_test(refuses_tensor_lies),
        cmocka_unit_test_setup_teardown(refuses_truncated, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test_setup_teardown(refuses_zip_mutations, tu_dir_setup, tu_dir_teardown),
        cmocka_unit_test(pickle_mutations),
        cmocka_unit_test(resnet50_full_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
