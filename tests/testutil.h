/* testutil.h - helpers every test shares: temp folders, whole-file reads and writes, file
 * counting, short sleeps; and, for tests that include store/store.h and cmocka.h before this
 * header, the store fixture (a real SQLite file and data folder in a temp folder).
 * Header-only (static inline) so each test binary stays one .c file and the Makefile's
 * dependency on this header rebuilds every test that uses it.
 * Threads: cmocka runs tests on one thread; nothing here is shared. */
#ifndef VAS_TESTUTIL_H
#define VAS_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* TU_ASAN: this is an AddressSanitizer build (gcc defines __SANITIZE_ADDRESS__, clang has
 * __has_feature). Tests of RLIMIT_AS skip there: the shadow memory reserves terabytes. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif

/* Real DeepLabCut example data, cut small (tests/fixtures/openfield/README.md): the first 367
 * frames of the openfield recording, stream-copied, and 15 of its human-labeled frames. */
#define TU_OPENFIELD_CLIP        "tests/fixtures/openfield/m3v1_clip.mp4"
#define TU_OPENFIELD_CLIP_FRAMES 367
#define TU_OPENFIELD_LABELED     "tests/fixtures/openfield/labeled-data/m4s1"

/* Runs a shell command (a real reference program: python3, ffprobe), echoing its output as
 * "  | line"; its exit status (pclose), -1 when it cannot start. */
static inline int tu_run(const char *cmd)
{
    char line[512];
    /* NOLINTNEXTLINE(cert-env33-c): the reference is a real program; the command is ours */
    FILE *p = popen(cmd, "r");

    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p))
        printf("  | %s", line);
    return pclose(p);
}

/* New folder /tmp/vas-test-XXXXXX; returns a new string (caller frees) or NULL. */
static inline char *tu_mkdtemp(void)
{
    char tmpl[] = "/tmp/vas-test-XXXXXX";
    char *d = mkdtemp(tmpl);

    return d ? strdup(d) : NULL;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf path (depth first, never follows links). 0 ok, -1 on the first failure. NULL: no-op. */
static inline int tu_rm_rf(const char *path)
{
    if (!path)
        return 0;
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): tests run on one thread */
    return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<dir>/<name>" into a new string (caller frees). */
static inline char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Whole file as a new NUL-terminated buffer (caller frees); its length (without the NUL) in
 * *len if not NULL. NULL if it cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, k;

    if (!f)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        k = fread(buf + n, 1, 4096, f);
        n += k;
    } while (k > 0);
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Writes n bytes to path (created or truncated). 0 ok, -1 on error. */
static inline int tu_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int rc = 0;

    if (!f)
        return -1;
    if (n > 0 && fwrite(p, 1, n, f) != n)
        rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* Number of non-folder entries under dir, recursively (links not followed); -1 on error.
 * Recursion depth = folder depth (2 for the blob store). */
static inline int tu_count_files(const char *dir) /* NOLINT(misc-no-recursion) */
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): d is ours alone */
    while (n >= 0 && (de = readdir(d)) != NULL) {
        char *p;
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        p = tu_path(dir, de->d_name);
        if (!p || lstat(p, &st) < 0) {
            n = -1;
        } else if (S_ISDIR(st.st_mode)) {
            int k = tu_count_files(p);
            n = k < 0 ? -1 : n + k;
        } else {
            n++;
        }
        free(p);
    }
    closedir(d);
    return n;
}

static inline void tu_nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

/* ---- a fresh temp folder fixture (cmocka setup/teardown) ---- */

typedef struct tu_dir_fx {
    char *dir;      /* /tmp/vas-test-XXXXXX, removed by teardown */
    char path[512]; /* scratch path inside dir (tu_dir_file) */
} tu_dir_fx;

static inline int tu_dir_setup(void **state)
{
    tu_dir_fx *f = calloc(1, sizeof(*f));

    if (!f || !(f->dir = tu_mkdtemp())) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int tu_dir_teardown(void **state)
{
    tu_dir_fx *f = *state;

    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* "<dir>/<name>" in f->path (overwritten by the next call). */
static inline const char *tu_dir_file(tu_dir_fx *f, const char *name)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    return f->path;
}

/* ---- the store fixture (needs store/store.h and cmocka.h first) ---- */
#if defined(VAS_STORE_H) && defined(cmocka_unit_test)

typedef struct tu_store_fx {
    char *dir;   /* fresh /tmp/vas-test-XXXXXX, removed by teardown */
    char *db;    /* <dir>/db/vas.db (store_open makes its folder) */
    char *data;  /* <dir>/data */
    char *files; /* <dir>/data/files, where blobs live */
    store *s;    /* open on db and data; closed by teardown */
} tu_store_fx;

static inline int tu_store_teardown(void **state)
{
    tu_store_fx *f = *state;

    if (!f)
        return 0;
    store_close(f->s);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f->db);
    free(f->data);
    free(f->files);
    free(f);
    *state = NULL;
    return 0;
}

static inline int tu_store_setup(void **state)
{
    tu_store_fx *f = calloc(1, sizeof(*f));
    vas_err e = {0};

    *state = f;
    if (!f || !(f->dir = tu_mkdtemp()))
        goto fail;
    f->db = tu_path(f->dir, "db/vas.db");
    f->data = tu_path(f->dir, "data");
    f->files = tu_path(f->dir, "data/files");
    if (!f->db || !f->data || !f->files)
        goto fail;
    if (store_open(f->db, f->data, &f->s, &e) != VAS_OK) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        goto fail;
    }
    return 0;
fail:
    tu_store_teardown(state);
    return -1;
}

/* Stores a string as text/plain; its id into id. */
static inline void tu_put(store *s, const char *text, const char *filename,
                          char id[STORE_ID_LEN + 1])
{
    store_file f;
    vas_err e = {0};

    if (store_put_bytes(s, text, strlen(text), filename, "text/plain", &f, &e) != VAS_OK)
        fail_msg("store_put_bytes: %s", e.msg);
    memcpy(id, f.id, STORE_ID_LEN + 1);
}

/* Inserts a PENDING analysis on one file, or two (in1 not NULL); its id into id. */
static inline void tu_insert(store *s, const char *name, const char *in0, const char *in1,
                             char id[STORE_UUID_LEN + 1])
{
    store_analysis a = {0};
    vas_err e = {0};

    snprintf(a.name, sizeof(a.name), "%s", name);
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", in0);
    a.n_inputs = 1;
    if (in1) {
        snprintf(a.inputs[1], sizeof(a.inputs[1]), "%s", in1);
        a.n_inputs = 2;
    }
    if (store_analysis_insert(s, &a, &e) != VAS_OK)
        fail_msg("store_analysis_insert: %s", e.msg);
    memcpy(id, a.id, STORE_UUID_LEN + 1);
}

/* Claims the next job for worker 1 and checks it is id. */
static inline void tu_claim(store *s, const char *id)
{
    store_analysis job;
    vas_err e = {0};

    if (store_analysis_claim(s, 1, &job, &e) != VAS_OK)
        fail_msg("store_analysis_claim: %s", e.msg);
    assert_string_equal(job.id, id);
    store_analysis_clear(&job);
}

/* State of analysis id (a static buffer, valid until the next call). */
static inline const char *tu_state_of(store *s, const char *id)
{
    static char st[12];
    store_analysis a;
    vas_err e = {0};

    if (store_analysis_find(s, id, &a, &e) != VAS_OK)
        fail_msg("store_analysis_find %s: %s", id, e.msg);
    snprintf(st, sizeof(st), "%s", a.state);
    store_analysis_clear(&a);
    return st;
}

static inline int64_t tu_files_gen(store *s)
{
    int64_t g = -1;
    vas_err e = {0};

    if (store_files_gen(s, &g, &e) != VAS_OK)
        fail_msg("store_files_gen: %s", e.msg);
    return g;
}

static inline int tu_blob_exists(store *s, const char *id)
{
    char path[4096];

    store_file_path(s, id, path, sizeof(path));
    return access(path, F_OK) == 0;
}

#endif /* store fixture */

#endif
