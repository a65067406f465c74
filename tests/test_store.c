/* test_store.c - store/ files: content ids (SHA-1), the upload writer (abort, size limit), blob
 * paths, id prefixes, list paging, the files generation, delete (and its refusal while an
 * analysis needs the file); retention; two connections on one catalog as two processes would
 * hold them; reopening. Analyses: test_store_analyses.c.
 * Every test runs on a real SQLite file and data folder in a fresh temp folder (fixture). */
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h" /* after store.h and cmocka.h: brings the store fixture */

typedef tu_store_fx fx;

#define ABC_SHA1   "a9993e364706816aba3e25717850c26c9cd0d89d" /* FIPS 180-1 vector */
#define EMPTY_SHA1 "da39a3ee5e6b4b0d3255bfef95601890afd80709"
#define FOX_SHA1   "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
#define FOX        "The quick brown fox jumps over the lazy dog"

/* SHA-1 of p[0..n) by OpenSSL's one-shot digest, as lowercase hex. */
static void sha1_hex(const void *p, size_t n, char out[STORE_ID_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha1(), NULL), 1);
    assert_int_equal(len, 20);
    for (unsigned int i = 0; i < len; i++)
        snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

/* ---- files: ids and blobs ---- */

static void put_twice_same_id(void **state)
{
    fx *f = *state;
    store_file a, b;
    vas_err e = {0};

    assert_int_equal(store_put_bytes(f->s, "abc", 3, "first.txt", "text/plain", &a, &e), VAS_OK);
    assert_int_equal(store_put_bytes(f->s, "abc", 3, "second.csv", "text/csv", &b, &e), VAS_OK);
    assert_string_equal(a.id, ABC_SHA1);
    assert_string_equal(b.id, ABC_SHA1);
    /* A repeat upload keeps the first name and type. */
    assert_string_equal(b.filename, "first.txt");
    assert_string_equal(b.content_type, "text/plain");
    assert_int_equal(b.size, 3);
    assert_true(b.created == a.created);
    assert_int_equal(tu_count_files(f->files), 1); /* one copy */
}

static void ids_are_sha1(void **state)
{
    fx *f = *state;
    char id[STORE_ID_LEN + 1];

    tu_put(f->s, "", "empty", id);
    assert_string_equal(id, EMPTY_SHA1);
    tu_put(f->s, FOX, "fox", id);
    assert_string_equal(id, FOX_SHA1);
}

static void blob_has_the_bytes(void **state)
{
    fx *f = *state;
    char id[STORE_ID_LEN + 1], path[4096], want[4096];
    size_t n = 0;
    char *got;

    tu_put(f->s, FOX, "fox.txt", id);
    store_file_path(f->s, id, path, sizeof(path));
    snprintf(want, sizeof(want), "%s/%.2s/%s", f->files, FOX_SHA1, FOX_SHA1);
    assert_string_equal(path, want);
    got = tu_read_file(path, &n);
    assert_non_null(got);
    assert_int_equal(n, strlen(FOX));
    assert_memory_equal(got, FOX, n);
    free(got);
}

/* Many odd-sized writes hash and store the same as one buffer. */
/* Streams n pseudo-random bytes in chunk-sized writes; checks id = SHA-1 and the stored bytes. */
static void stream_and_check(fx *f, size_t N, size_t CHUNK)
{
    unsigned char *buf = malloc(N);
    char want[STORE_ID_LEN + 1], path[4096];
    store_writer *w = NULL;
    store_file out;
    vas_err e = {0};
    uint32_t x = 12345;
    size_t n = 0;
    char *got;

    assert_non_null(buf);
    for (size_t i = 0; i < N; i++)
        buf[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
    sha1_hex(buf, N, want);
    assert_int_equal(store_writer_new(f->s, 0, &w, &e), VAS_OK);
    for (size_t off = 0; off < N; off += CHUNK) {
        size_t k = N - off < CHUNK ? N - off : CHUNK;
        assert_int_equal(store_writer_write(w, buf + off, k, &e), VAS_OK);
    }
    assert_int_equal(store_writer_size(w), N);
    assert_int_equal(store_writer_commit(w, "noise.bin", NULL, &out, &e), VAS_OK);
    assert_string_equal(out.id, want);
    assert_int_equal(out.size, N);
    assert_string_equal(out.content_type, "application/octet-stream");
    store_file_path(f->s, out.id, path, sizeof(path));
    got = tu_read_file(path, &n);
    assert_non_null(got);
    assert_int_equal(n, N);
    assert_memory_equal(got, buf, N);
    free(got);
    free(buf);
}

static void streamed_upload_matches_sha1(void **state)
{
    stream_and_check(*state, 1 << 20, 7777); /* one 1 MiB buffer: hashed and written inline */
}

static void large_upload_hashed_by_thread(void **state)
{
    /* Past one 1 MiB buffer, threads hash and write the full buffers (whole blocks O_DIRECT);
     * 13 MiB goes round the ring twice; odd chunk sizes straddle the buffers, and the last
     * 17 bytes are a partial block, written through the page cache. */
    stream_and_check(*state, (13u << 20) + 17, 65537);
}

/* The sizes where the writer changes paths: one buffer exactly (inline, no thread), one byte
 * more (threads start when the first buffer fills; a 1-byte tail), whole buffers with no tail,
 * a tail one byte short of a block; and one write call far larger than the ring, which waits
 * for free buffers. */
static void buffer_edges_stored_whole(void **state)
{
    static const size_t sizes[][2] = {
        {1u << 20, 1u << 20},          {(1u << 20) + 1, 4096},           {2u << 20, 3000},
        {(5u << 20) + 4095, 1u << 20}, {(9u << 20) + 1, (9u << 20) + 1},
    };

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        stream_and_check(*state, sizes[i][0], sizes[i][1]);
}

static void abort_with_hash_thread_leaves_nothing(void **state)
{
    fx *f = *state;
    size_t N = 6u << 20;
    char *buf = calloc(1, N);
    store_writer *w = NULL;
    vas_err e = {0};

    assert_non_null(buf);
    assert_int_equal(store_writer_new(f->s, 0, &w, &e), VAS_OK);
    assert_int_equal(store_writer_write(w, buf, N / 2, &e), VAS_OK);
    assert_int_equal(store_writer_write(w, buf, N / 2, &e), VAS_OK);
    store_writer_abort(w);
    assert_int_equal(tu_count_files(f->files), 0);
    free(buf);
}

static void missing_names_get_defaults(void **state)
{
    fx *f = *state;
    store_file out;
    vas_err e = {0};

    assert_int_equal(store_put_bytes(f->s, "abc", 3, NULL, "", &out, &e), VAS_OK);
    assert_string_equal(out.filename, ABC_SHA1);
    assert_string_equal(out.content_type, "application/octet-stream");
}

/* Names are kept as a safe base name: no folders, control characters or double quotes. */
static void names_made_safe(void **state)
{
    static const char *const cases[][2] = {
        {"../../etc/x y.txt", "x y.txt"},
        {"C:\\Users\\me\\maus gr\xc3\xb6\xc3\x9f"
         "e.avi",
         "maus gr\xc3\xb6\xc3\x9f"
         "e.avi"},
        {"a\r\nb\x7f\"c\".mp4", "ab'c'.mp4"},
        {"..", "file"},
        {"dir/", "file"},
        {"\x01\x02", "file"},
    };
    char out[256], small[16];
    fx *f = *state;
    store_file sf;
    vas_err e = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        store_safe_filename(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    /* cut to fit, never inside a UTF-8 character: 14 bytes, then a 2-byte one */
    store_safe_filename("abcdefghijklmn\xc3\xb6z", small, sizeof(small));
    assert_string_equal(small, "abcdefghijklmn");
    store_safe_filename("abcdefghijklm\xc3\xb6z", small, sizeof(small));
    assert_string_equal(small, "abcdefghijklm\xc3\xb6");
    /* and stored so */
    assert_int_equal(store_put_bytes(f->s, "abc", 3, "../up/../x.txt", "text/plain", &sf, &e),
                     VAS_OK);
    assert_string_equal(sf.filename, "x.txt");
}

static void abort_leaves_nothing(void **state)
{
    fx *f = *state;
    char buf[1000];
    store_writer *w = NULL;
    store_file out;
    json_t *list = NULL;
    vas_err e = {0};
    int64_t g0 = tu_files_gen(f->s);

    memset(buf, 'm', sizeof(buf));
    assert_int_equal(store_writer_new(f->s, 0, &w, &e), VAS_OK);
    assert_int_equal(store_writer_write(w, buf, sizeof(buf), &e), VAS_OK);
    store_writer_abort(w);
    store_writer_abort(NULL);
    assert_int_equal(tu_count_files(f->files), 0);
    assert_int_equal(store_file_list(f->s, -1, 0, &list, &e), VAS_OK);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(tu_files_gen(f->s), g0);
    sha1_hex(buf, sizeof(buf), out.id);
    assert_int_equal(store_file_find(f->s, out.id, &out, &e), VAS_ENOTFOUND);
}

static void over_max_is_too_big(void **state)
{
    fx *f = *state;
    store_writer *w = NULL;
    store_file out;
    vas_err e = {0};

    assert_int_equal(store_writer_new(f->s, 10, &w, &e), VAS_OK);
    assert_int_equal(store_writer_write(w, "012345", 6, &e), VAS_OK);
    assert_int_equal(store_writer_write(w, "67890", 5, &e), VAS_ETOOBIG);
    assert_int_equal(e.code, VAS_ETOOBIG);
    assert_non_null(strstr(e.msg, "10 bytes"));
    store_writer_abort(w);
    assert_int_equal(tu_count_files(f->files), 0);

    /* Exactly max is fine. */
    assert_int_equal(store_writer_new(f->s, 10, &w, &e), VAS_OK);
    assert_int_equal(store_writer_write(w, "0123456789", 10, &e), VAS_OK);
    assert_int_equal(store_writer_commit(w, "ten", NULL, &out, &e), VAS_OK);
    assert_int_equal(out.size, 10);
    assert_int_equal(tu_count_files(f->files), 1);
}

/* ---- files: prefixes ---- */

static void find_by_prefix(void **state)
{
    static const char too_long[] = ABC_SHA1 "0";
    static const char *const bad[] = {"a99",   "",     "%",         "a99%",  "a999%",
                                      "a999g", "a9 9", "a999'; --", too_long};
    fx *f = *state;
    char id[STORE_ID_LEN + 1];
    store_file out;
    vas_err e = {0};

    tu_put(f->s, "abc", "abc.txt", id);
    assert_int_equal(store_file_find(f->s, "a999", &out, &e), VAS_OK);
    assert_string_equal(out.id, ABC_SHA1);
    assert_string_equal(out.filename, "abc.txt");
    assert_int_equal(store_file_find(f->s, "A9993E", &out, &e), VAS_OK); /* any case */
    assert_string_equal(out.id, ABC_SHA1);
    assert_int_equal(store_file_find(f->s, ABC_SHA1, &out, &e), VAS_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&e, 0, sizeof(e));
        if (store_file_find(f->s, bad[i], &out, &e) != VAS_EINVAL)
            fail_msg("prefix '%s' was not refused", bad[i]);
        assert_int_equal(e.code, VAS_EINVAL);
    }
    assert_int_equal(store_file_find(f->s, "ffff", &out, &e), VAS_ENOTFOUND);
    assert_non_null(strstr(e.msg, "ffff"));
    assert_int_equal(store_file_find(f->s, "a998", &out, &e), VAS_ENOTFOUND);
    assert_int_equal(store_file_find(f->s, "a99a", &out, &e), VAS_ENOTFOUND);
}

/* Two small inputs whose SHA-1s share 4 hex digits (about 300 tries by the birthday bound). */
static void two_with_shared_prefix(char a[32], char b[32])
{
    enum { N = 20000 };
    char(*ids)[STORE_ID_LEN + 1] = malloc(N * sizeof(*ids));

    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        char in[32];
        snprintf(in, sizeof(in), "x%d", i);
        sha1_hex(in, strlen(in), ids[i]);
        for (int j = 0; j < i; j++) {
            if (memcmp(ids[i], ids[j], 4) == 0) {
                snprintf(a, 32, "x%d", j);
                snprintf(b, 32, "x%d", i);
                free(ids);
                return;
            }
        }
    }
    free(ids);
    fail_msg("no shared prefix in %d inputs", N);
}

static void ambiguous_prefix(void **state)
{
    fx *f = *state;
    char a[32], b[32], ida[STORE_ID_LEN + 1], idb[STORE_ID_LEN + 1], pre[STORE_ID_LEN + 1];
    store_file out;
    vas_err e = {0};
    size_t k = 0;

    two_with_shared_prefix(a, b);
    tu_put(f->s, a, "a", ida);
    tu_put(f->s, b, "b", idb);
    assert_memory_equal(ida, idb, 4);
    snprintf(pre, sizeof(pre), "%.4s", ida);
    assert_int_equal(store_file_find(f->s, pre, &out, &e), VAS_EAMBIG);
    assert_int_equal(e.code, VAS_EAMBIG);
    /* The shortest prefix that tells them apart finds each one. */
    while (ida[k] == idb[k])
        k++;
    snprintf(pre, sizeof(pre), "%.*s", (int)k + 1, ida);
    assert_int_equal(store_file_find(f->s, pre, &out, &e), VAS_OK);
    assert_string_equal(out.id, ida);
    snprintf(pre, sizeof(pre), "%.*s", (int)k + 1, idb);
    assert_int_equal(store_file_find(f->s, pre, &out, &e), VAS_OK);
    assert_string_equal(out.id, idb);
    /* Delete by an ambiguous prefix touches nothing. */
    assert_int_equal(store_file_delete(f->s, "%", &e), VAS_EINVAL);
    snprintf(pre, sizeof(pre), "%.4s", ida);
    assert_int_equal(store_file_delete(f->s, pre, &e), VAS_EAMBIG);
    assert_int_equal(tu_count_files(f->files), 2);
}

/* ---- files: list, generation, delete ---- */

static void list_newest_first_with_paging(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1], c[STORE_ID_LEN + 1];
    json_t *l = NULL, *row;
    vas_err e = {0};

    tu_put(f->s, "one", "1.txt", a);
    tu_nap_ms(5);
    tu_put(f->s, "two", "2.txt", b);
    tu_nap_ms(5);
    tu_put(f->s, "three", "3.txt", c);
    assert_int_equal(store_file_list(f->s, -1, 0, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 3);
    row = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(row, "file_id")), c);
    assert_string_equal(json_string_value(json_object_get(row, "filename")), "3.txt");
    assert_string_equal(json_string_value(json_object_get(row, "content_type")), "text/plain");
    assert_int_equal(json_integer_value(json_object_get(row, "size")), 5);
    assert_int_equal(strlen(json_string_value(json_object_get(row, "created"))), 20);
    assert_int_equal(json_object_size(row), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "file_id")), b);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 2), "file_id")), a);
    json_decref(l);

    assert_int_equal(store_file_list(f->s, 2, 0, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 1), "file_id")), b);
    json_decref(l);
    assert_int_equal(store_file_list(f->s, 2, 2, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "file_id")), a);
    json_decref(l);
    assert_int_equal(store_file_list(f->s, 10, 3, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    assert_int_equal(store_file_list(f->s, 0, 0, &l, &e), VAS_OK);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
}

static void files_gen_counts_changes(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
    vas_err e = {0};
    int64_t g0 = tu_files_gen(f->s);

    tu_put(f->s, "abc", "a", a);
    assert_true(tu_files_gen(f->s) == g0 + 1);
    tu_put(f->s, "abc", "again", a); /* same bytes: no new row */
    assert_true(tu_files_gen(f->s) == g0 + 1);
    tu_put(f->s, "def", "d", b);
    assert_true(tu_files_gen(f->s) == g0 + 2);
    assert_int_equal(store_file_delete(f->s, a, &e), VAS_OK);
    assert_true(tu_files_gen(f->s) == g0 + 3);
    assert_int_equal(store_file_delete(f->s, a, &e), VAS_ENOTFOUND);
    assert_true(tu_files_gen(f->s) == g0 + 3);
}

static void delete_removes_row_and_blob(void **state)
{
    fx *f = *state;
    char id[STORE_ID_LEN + 1], keep[STORE_ID_LEN + 1];
    store_file out;
    vas_err e = {0};

    tu_put(f->s, "abc", "abc", id);
    tu_put(f->s, FOX, "fox", keep);
    assert_int_equal(store_file_delete(f->s, "a9993e", &e), VAS_OK);
    assert_int_equal(store_file_find(f->s, id, &out, &e), VAS_ENOTFOUND);
    assert_false(tu_blob_exists(f->s, id));
    assert_true(tu_blob_exists(f->s, keep));
    assert_int_equal(tu_count_files(f->files), 1); /* no ".deleting" left behind */
    assert_int_equal(store_file_delete(f->s, id, &e), VAS_ENOTFOUND);
    /* The same bytes can come back. */
    tu_put(f->s, "abc", "back", id);
    assert_true(tu_blob_exists(f->s, id));
    assert_int_equal(store_file_find(f->s, id, &out, &e), VAS_OK);
    assert_string_equal(out.filename, "back");
}

static void delete_refused_while_analysis_needs_it(void **state)
{
    fx *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1], an[STORE_UUID_LEN + 1];
    store_analysis job;
    store_file out;
    vas_err e = {0};

    tu_put(f->s, "cam1", "cam1.mp4", a);
    tu_put(f->s, "cam2", "cam2.mp4", b);
    tu_insert(f->s, "triangulate", a, b, an);
    assert_int_equal(store_file_delete(f->s, a, &e), VAS_ECONFLICT);
    assert_int_equal(e.code, VAS_ECONFLICT);
    assert_int_equal(store_file_delete(f->s, b, &e), VAS_ECONFLICT); /* second input too */
    assert_true(tu_blob_exists(f->s, a));
    assert_int_equal(store_file_find(f->s, a, &out, &e), VAS_OK);

    assert_int_equal(store_analysis_claim(f->s, 42, &job, &e), VAS_OK); /* STARTED: same */
    store_analysis_clear(&job);
    assert_int_equal(store_file_delete(f->s, a, &e), VAS_ECONFLICT);

    assert_int_equal(store_analysis_cancel(f->s, an, &e), VAS_OK);
    assert_int_equal(store_file_delete(f->s, a, &e), VAS_OK);
    assert_int_equal(store_file_delete(f->s, b, &e), VAS_OK);
    assert_false(tu_blob_exists(f->s, a));
    assert_int_equal(tu_count_files(f->files), 0);
}

/* ---- retention ---- */

static void clean_up_keeps_what_pending_needs(void **state)
{
    fx *f = *state;
    char used_done[STORE_ID_LEN + 1], used_pending[STORE_ID_LEN + 1], unused[STORE_ID_LEN + 1];
    char done[STORE_UUID_LEN + 1], pending[STORE_UUID_LEN + 1], revoked[STORE_UUID_LEN + 1];
    store_analysis job;
    store_file out;
    json_t *res = json_object();
    vas_err e = {0};
    int nf = -1, na = -1;

    tu_put(f->s, "done", "d", used_done);
    tu_put(f->s, "pending", "p", used_pending);
    tu_put(f->s, "unused", "u", unused);
    tu_insert(f->s, "video", used_done, NULL, done);
    tu_insert(f->s, "video", used_done, NULL, revoked);
    assert_int_equal(store_analysis_claim(f->s, 1, &job, &e), VAS_OK);
    store_analysis_clear(&job);
    assert_int_equal(store_analysis_succeed(f->s, done, res, &e), VAS_OK);
    assert_int_equal(store_analysis_cancel(f->s, revoked, &e), VAS_OK);
    tu_insert(f->s, "video", used_pending, NULL, pending);
    tu_nap_ms(10);

    /* <= 0 days: keep forever; many days: nothing is that old. */
    assert_int_equal(store_clean_up(f->s, 0, 0, &nf, &na, &e), VAS_OK);
    assert_int_equal(nf + na, 0);
    assert_int_equal(store_clean_up(f->s, 365, 365, &nf, &na, &e), VAS_OK);
    assert_int_equal(nf + na, 0);

    assert_int_equal(store_clean_up(f->s, 1e-9, 1e-9, &nf, &na, &e), VAS_OK);
    assert_int_equal(na, 2);
    assert_int_equal(nf, 2);
    assert_int_equal(store_analysis_find(f->s, done, &job, &e), VAS_ENOTFOUND);
    assert_int_equal(store_analysis_find(f->s, revoked, &job, &e), VAS_ENOTFOUND);
    assert_string_equal(tu_state_of(f->s, pending), "PENDING");
    assert_int_equal(store_file_find(f->s, used_done, &out, &e), VAS_ENOTFOUND);
    assert_int_equal(store_file_find(f->s, unused, &out, &e), VAS_ENOTFOUND);
    assert_int_equal(store_file_find(f->s, used_pending, &out, &e), VAS_OK);
    assert_false(tu_blob_exists(f->s, used_done));
    assert_true(tu_blob_exists(f->s, used_pending));
    assert_int_equal(tu_count_files(f->files), 1);
    json_decref(res);
}

static void clean_up_analyses_only(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[STORE_UUID_LEN + 1];
    store_file out;
    vas_err e = {0};
    int nf = -1, na = -1;

    tu_put(f->s, "v", "v", fid);
    tu_insert(f->s, "video", fid, NULL, id);
    assert_int_equal(store_analysis_cancel(f->s, id, &e), VAS_OK);
    tu_nap_ms(10);
    assert_int_equal(store_clean_up(f->s, 0, 1e-9, &nf, &na, &e), VAS_OK);
    assert_int_equal(na, 1);
    assert_int_equal(nf, 0);
    assert_int_equal(store_file_find(f->s, fid, &out, &e), VAS_OK);
    assert_true(tu_blob_exists(f->s, fid));
}

/* ---- several connections ---- */

static void two_handles_share_one_catalog(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[STORE_UUID_LEN + 1], st[12];
    store *s2 = NULL;
    store_analysis job;
    store_file out;
    vas_err e = {0};
    int64_t g;

    assert_int_equal(store_open(f->db, f->data, &s2, &e), VAS_OK);
    g = tu_files_gen(s2);
    tu_put(f->s, "shared", "shared.txt", fid);
    assert_true(tu_files_gen(s2) == g + 1);
    assert_int_equal(store_file_find(s2, fid, &out, &e), VAS_OK);
    assert_string_equal(out.filename, "shared.txt");

    /* s2 plays the HTTP side, f->s a worker. */
    tu_insert(s2, "video", fid, NULL, id);
    assert_int_equal(store_analysis_claim(f->s, 9, &job, &e), VAS_OK);
    assert_string_equal(job.id, id);
    store_analysis_clear(&job);
    assert_int_equal(store_file_delete(s2, fid, &e), VAS_ECONFLICT);
    assert_int_equal(store_analysis_cancel(s2, id, &e), VAS_OK);
    assert_int_equal(store_analysis_progress(f->s, id, 1, 2, "frames", st, &e), VAS_OK);
    assert_string_equal(st, "REVOKED");

    assert_int_equal(store_file_delete(s2, fid, &e), VAS_OK);
    assert_int_equal(store_file_find(f->s, fid, &out, &e), VAS_ENOTFOUND);
    store_close(s2);
}

static void reopen_keeps_everything(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1], id[STORE_UUID_LEN + 1];
    store_file out;
    vas_err e = {0};
    int64_t g;

    tu_put(f->s, "kept", "kept.txt", fid);
    tu_insert(f->s, "video", fid, NULL, id);
    g = tu_files_gen(f->s);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->db, f->data, &f->s, &e), VAS_OK);
    assert_true(tu_files_gen(f->s) == g); /* opening again does not reset the counter */
    assert_int_equal(store_file_find(f->s, fid, &out, &e), VAS_OK);
    assert_string_equal(out.filename, "kept.txt");
    assert_string_equal(tu_state_of(f->s, id), "PENDING");
}

/* A connection opened while another process holds the write lock (an HTTP thread's first
 * request, during a long write elsewhere) writes nothing while opening: it opens at once and
 * reads, instead of waiting out the busy timeout for a 503 (e2e_faults met that under load). */
static void open_reads_under_a_held_lock(void **state)
{
    fx *f = *state;
    char fid[STORE_ID_LEN + 1];
    store *s2 = NULL;
    sqlite3 *db = NULL;
    json_t *list = NULL;
    vas_err e = {0};
    int64_t t0;

    tu_put(f->s, "listed", "listed.txt", fid);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    t0 = util_mono_ms();
    if (store_open(f->db, f->data, &s2, &e) != VAS_OK)
        fail_msg("opening beside a held write lock: %s", e.msg);
    assert_int_equal(store_file_list(s2, -1, 0, &list, &e), VAS_OK);
    assert_true(util_mono_ms() - t0 < 2000); /* not the busy timeout (10 s) */
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store_close(s2);
}

static void open_fails_cleanly(void **state)
{
    fx *f = *state;
    char *plain = tu_path(f->dir, "plain");
    char *under = tu_path(f->dir, "plain/data");
    store *s2 = NULL;
    vas_err e = {0};

    assert_int_equal(tu_write_file(plain, "x", 1), 0);
    assert_int_equal(store_open(f->db, under, &s2, &e), VAS_EIO);
    assert_null(s2);
    assert_non_null(strstr(e.msg, "plain/data"));
    free(plain);
    free(under);
}

#define T(name) cmocka_unit_test_setup_teardown(name, tu_store_setup, tu_store_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(put_twice_same_id),
        T(ids_are_sha1),
        T(blob_has_the_bytes),
        T(streamed_upload_matches_sha1),
        T(large_upload_hashed_by_thread),
        T(buffer_edges_stored_whole),
        T(abort_with_hash_thread_leaves_nothing),
        T(missing_names_get_defaults),
        T(names_made_safe),
        T(abort_leaves_nothing),
        T(over_max_is_too_big),
        T(find_by_prefix),
        T(ambiguous_prefix),
        T(list_newest_first_with_paging),
        T(files_gen_counts_changes),
        T(delete_removes_row_and_blob),
        T(delete_refused_while_analysis_needs_it),
        T(clean_up_keeps_what_pending_needs),
        T(clean_up_analyses_only),
        T(two_handles_share_one_catalog),
        T(reopen_keeps_everything),
        T(open_reads_under_a_held_lock),
        T(open_fails_cleanly),
    };

    log_set_level(LOG_WARN); /* clean-up logs each kept file at info */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
