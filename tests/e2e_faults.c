/* e2e_faults.c - the real `vas` killed, starved and blocked at each step, then restarted on the
 * same data and checked with `vas check`: every file row has its blob, every blob a row, no temp
 * file is left, no job stays STARTED.
 *
 * The exact steps are hit with the test build's fault points (core/fault.h): VAS_FAULT=
 * "server:writer_mid" (mid-upload), "server:blob_linked" (between the blob and its row),
 * "worker:job_started" (mid-job), "worker:writer_mid" and "worker:blob_linked" (mid-output; the
 * hidden `crash` analysis with mode=output stages and stores one). Also: the server killed with a
 * job running; a full disk (a small tmpfs as the data folder; needs root) at upload and at
 * output; the database locked by another process (503, then nothing lost); a worker over
 * LIMIT_WORKER_MEMORY; a client gone mid-download. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "e2e.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#define FINISH_S 30.0

static const char *const one_worker[] = {"--workers", "1", NULL};

/* ---- helpers ---- */

/* Runs `vas check` on the fixture's data; its exit status; its output into *text (caller frees). */
static int run_check(e2e_srv *s, char **text)
{
    char out[E2E_PATH];
    int st;

    snprintf(out, sizeof(out), "%s/check.txt", s->dir);
    st = e2e_run_vas(out, "check", "--db", s->db, "--data", s->data, NULL);
    *text = tu_read_file(out, NULL);
    if (!*text)
        *text = strdup("(no output)");
    return st;
}

/* Asserts `vas check` finds nothing; files = the rows it must count (-1: any). */
static void expect_check_ok(e2e_srv *s, int files)
{
    char *text = NULL, want[64];
    int st = run_check(s, &text);

    snprintf(want, sizeof(want), "check: ok files=%d blobs=%d ", files, files);
    if (st != 0 || !strstr(text, files >= 0 ? want : "check: ok"))
        fail_msg("vas check exited %d, want '%s':\n%s", st, files >= 0 ? want : "check: ok",
                 text); /* text leaks on this path: the test ends here */
    free(text);
}

/* Asserts `vas check` reports a problem containing what (polling up to 3 s: a killed worker may
 * take a moment to be reaped). */
static void expect_check_finds(e2e_srv *s, const char *what)
{
    double end = e2e_now() + 3;
    char *text = NULL;
    int st;

    for (;;) {
        st = run_check(s, &text);
        if (st == 1 && strstr(text, what) && strstr(text, "problems"))
            break;
        if (e2e_now() > end)
            fail_msg("vas check should find '%s'; exited %d:\n%s", what, st, text);
        free(text);
        tu_nap_ms(100);
    }
    free(text);
}

/* Starts the server with VAS_FAULT=fault (its workers inherit it). */
static void start_with_fault(e2e_srv *s, const char *fault)
{
    setenv("VAS_FAULT", fault, 1); /* NOLINT(concurrency-mt-unsafe): one thread */
    assert_int_equal(e2e_start(s), 0);
    unsetenv("VAS_FAULT"); /* NOLINT(concurrency-mt-unsafe): one thread */
}

/* Waits for the server to die from SIGKILL (a fault point). */
static void expect_killed(e2e_srv *s)
{
    int st = e2e_wait_pid(s->pid, 30);

    if (st != 128 + SIGKILL) {
        print_error("the server should have been killed by its fault point; status %d\n", st);
        fail();
    }
    s->pid = 0;
}

static void expect_no_files(e2e_srv *s)
{
    e2e_resp r;

    e2e_get(s, "/file", &r);
    e2e_assert_status(&r, 200);
    assert_int_equal(json_array_size(r.json), 0);
    e2e_resp_free(&r);
}

/* Uploads n pseudo-random bytes, ignoring what happens (the server may die on the way). */
static void upload_blind(e2e_srv *s, size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n);
    e2e_resp r;
    CURL *c = curl_easy_init();
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(m);

    assert_non_null(p);
    e2e_fill_random(p, n, seed);
    curl_mime_name(part, "file");
    curl_mime_data(part, (const char *)p, n);
    curl_mime_filename(part, "blind.bin");
    e2e_request(s, "POST", "/file", NULL, NULL, 0, m, &r);
    e2e_resp_free(&r);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    free(p);
}

/* Starts the hidden `crash` analysis with mode and mib on file_id; its id into aid. */
static void start_crash(e2e_srv *s, const char *file_id, const char *mode, int mib, char aid[37])
{
    char form[256];

    snprintf(form, sizeof(form), "file_id=%s&analysis=crash&mode=%s&mib=%d", file_id, mode, mib);
    e2e_analysis(s, form, aid, NULL);
}

/* Waits for FAILURE and asserts its description contains want. */
static void expect_failure(e2e_srv *s, const char *aid, const char *want)
{
    e2e_resp r;
    const char *why;

    e2e_wait_state(s, aid, "FAILURE", FINISH_S, &r);
    e2e_assert_status(&r, 500);
    why = e2e_str(r.json, "description");
    if (!strstr(why, want))
        fail_msg("the description should say '%s': %s", want, why);
    e2e_resp_free(&r);
}

/* ---- vas check itself ---- */

/* A wrong path is a problem, not an empty store: the check never makes a database. */
static void check_needs_a_database(void **state)
{
    e2e_srv *s = *state;
    char *text = NULL;
    struct stat sb;

    assert_int_equal(run_check(s, &text), 1);
    assert_non_null(strstr(text, "no database at"));
    assert_non_null(strstr(text, "check: 1 problems"));
    free(text);
    assert_int_equal(stat(s->db, &sb), -1);
    E2E_PASS(s);
}

/* ---- the server killed ---- */

static void server_killed_mid_upload(void **state)
{
    e2e_srv *s = *state;

    start_with_fault(s, "server:writer_mid");
    upload_blind(s, 512 << 10, 1);
    expect_killed(s);
    expect_check_ok(s, 0); /* the bytes were an O_TMPFILE: nothing to repair */
    assert_int_equal(e2e_start(s), 0);
    expect_no_files(s);
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 0);
    E2E_PASS(s);
}

static void server_killed_between_blob_and_row(void **state)
{
    e2e_srv *s = *state;
    const char *text = "bytes whose row never came\n";
    char id[41], path[E2E_PATH + 64];
    struct stat sb;

    unsigned char bytes[1000];

    start_with_fault(s, "server:blob_linked");
    upload_blind(s, sizeof(bytes), 2);
    expect_killed(s);
    /* The upload's blob is linked, its row not committed. */
    e2e_fill_random(bytes, sizeof(bytes), 2);
    e2e_sha1_hex(bytes, sizeof(bytes), id);
    snprintf(path, sizeof(path), "%s/%.2s/%s", s->files, id, id);
    assert_int_equal(stat(path, &sb), 0);
    expect_check_finds(s, "has no row");

    assert_int_equal(e2e_start(s), 0); /* start-up removes the orphan blob */
    assert_int_equal(stat(path, &sb), -1);
    expect_no_files(s);
    e2e_upload_text(s, text, "again.txt", id); /* the store works on */
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 1);
    E2E_PASS(s);
}

/* A job interrupted by the server's end: SIGKILL leaves it STARTED by a gone worker (the check
 * says so) until the restart requeues it; a clean stop (SIGTERM) requeues it at once. Either way
 * it runs again to SUCCESS. */
static void interrupt_job(e2e_srv *s, int sigkill)
{
    char id[41], aid[37];

    assert_int_equal(e2e_start(s), 0);
    e2e_upload_text(s, "input of a job cut off\n", "in.txt", id);
    e2e_sleep(s, id, "2", aid);
    e2e_expect_state(s, aid, "STARTED", 202, FINISH_S);
    if (sigkill) {
        kill(s->pid, SIGKILL); /* its worker dies with it (PR_SET_PDEATHSIG) */
        expect_killed(s);
        expect_check_finds(s, "is STARTED but its worker");
    } else {
        assert_int_equal(e2e_stop(s), 0);
        expect_check_ok(s, 1);
    }
    assert_int_equal(e2e_start(s), 0);
    e2e_expect_state(s, aid, "SUCCESS", 200, FINISH_S);
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 2); /* the input and the job's CSV */
}

static void server_killed_mid_job(void **state)
{
    interrupt_job(*state, 1);
    E2E_PASS((e2e_srv *)*state);
}

static void server_stopped_mid_job(void **state)
{
    interrupt_job(*state, 0);
    E2E_PASS((e2e_srv *)*state);
}

/* ---- the worker killed ---- */

/* Runs a job with the worker killed at fault; the job must end FAILURE naming the signal, the
 * server keep serving, and the store be consistent while it runs and after it stopped. */
static void worker_killed_at(e2e_srv *s, const char *fault, const char *mode, int mib)
{
    char id[41], aid[37], after[37];

    start_with_fault(s, fault);
    e2e_upload_text(s, "input of a job whose worker dies\n", "in.txt", id);
    start_crash(s, id, mode, mib, aid);
    expect_failure(s, aid, "signal 9");
    expect_check_ok(s, 1); /* with the server running: what the worker left is gone */
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 1);
    assert_int_equal(e2e_start(s), 0); /* without the fault: the service works on */
    e2e_sleep(s, id, "0", after);
    e2e_expect_state(s, after, "SUCCESS", 200, FINISH_S);
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 2);
}

static void worker_killed_mid_job(void **state)
{
    worker_killed_at(*state, "worker:job_started", "alloc", 1);
    E2E_PASS((e2e_srv *)*state);
}

static void worker_killed_mid_output_write(void **state)
{
    worker_killed_at(*state, "worker:writer_mid", "output", 1);
    E2E_PASS((e2e_srv *)*state);
}

static void worker_killed_between_output_blob_and_row(void **state)
{
    worker_killed_at(*state, "worker:blob_linked", "output", 1);
    E2E_PASS((e2e_srv *)*state);
}

/* The output job itself works when nothing is killed: the check sees its blob. */
static void output_job_succeeds(void **state)
{
    e2e_srv *s = *state;
    char id[41], aid[37];

    e2e_upload_text(s, "input of an output job\n", "in.txt", id);
    start_crash(s, id, "output", 1, aid);
    e2e_expect_state(s, aid, "SUCCESS", 200, FINISH_S);
    expect_check_ok(s, 2);
    E2E_PASS(s);
}

/* ---- a full disk ---- */

static char mounted[E2E_PATH]; /* the tmpfs to detach at teardown, "" when none */

static int faults_teardown(void **state)
{
    if (mounted[0] && umount2(mounted, MNT_DETACH) < 0)
        fprintf(stderr, "e2e_faults: cannot unmount %s: %s\n", mounted,
                strerror(errno)); /* NOLINT(concurrency-mt-unsafe): one thread */
    mounted[0] = '\0';
    return e2e_teardown(state);
}

/* Mounts a tmpfs of size MiB as the data folder; 0, or -1 after printing why it can't. */
static int mount_small_data(e2e_srv *s, const char *test, int mib)
{
    char opt[32];

    if (geteuid() != 0) {
        print_message("skipped %s: mounting a small tmpfs as the data folder needs root\n", test);
        return -1;
    }
    snprintf(opt, sizeof(opt), "size=%dm", mib);
    if (mkdir(s->data, 0755) < 0 || mount("tmpfs", s->data, "tmpfs", 0, opt) < 0) {
        print_message("skipped %s: cannot mount a tmpfs on %s: %s\n", test, s->data,
                      strerror(errno)); /* NOLINT(concurrency-mt-unsafe): one thread */
        return -1;
    }
    snprintf(mounted, sizeof(mounted), "%s", s->data);
    return 0;
}

static double free_mib(const char *dir)
{
    struct statvfs v;

    assert_int_equal(statvfs(dir, &v), 0);
    return (double)v.f_bavail * (double)v.f_frsize / (1 << 20);
}

static void disk_full_at_upload_and_output(void **state)
{
    e2e_srv *s = *state;
    size_t n = (size_t)4 << 20;
    unsigned char *big = NULL;
    char id[41], aid[37];
    double before;
    e2e_resp r;

    if (mount_small_data(s, "disk_full_at_upload_and_output", 3) < 0)
        skip();
    big = malloc(n);
    assert_non_null(big);
    assert_int_equal(e2e_start(s), 0);
    before = free_mib(s->data);
    e2e_fill_random(big, n, 3);
    e2e_upload(s, "big.bin", "application/octet-stream", big, n, &r); /* 4 MiB into 3 */
    e2e_assert_error(&r, 507);
    assert_non_null(strstr(e2e_str(r.json, "error"), "disk is full"));
    e2e_resp_free(&r);
    free(big);
    assert_true(free_mib(s->data) > before - 0.1); /* nothing half-written stays */
    e2e_get(s, "/health", &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);

    /* A job whose output does not fit: 2 MiB staged in its temp folder, then 2 more stored
     * (the store says the disk is full); then 4 MiB that do not fit while staged (the worker
     * says it, in front of the writer's own error). */
    e2e_upload_text(s, "input of an output too big\n", "in.txt", id);
    start_crash(s, id, "output", 2, aid);
    expect_failure(s, aid, "disk is full: the file did not fit");
    start_crash(s, id, "output", 4, aid);
    expect_failure(s, aid, "the disk is full (");
    expect_check_ok(s, 1);
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 1);
    E2E_PASS(s);
}

/* ---- a locked database ---- */

typedef struct bg_upload {
    e2e_srv *s;
    const char *text;
    long status;
} bg_upload;

static void *upload_thread(void *arg)
{
    bg_upload *u = arg;
    e2e_resp r;
    CURL *c = curl_easy_init();
    curl_mime *m = curl_mime_init(c);
    curl_mimepart *p = curl_mime_addpart(m);

    curl_mime_name(p, "file");
    curl_mime_data(p, u->text, strlen(u->text));
    curl_mime_filename(p, "waited.txt");
    if (e2e_request(u->s, "POST", "/file", NULL, NULL, 0, m, &r) == CURLE_OK)
        u->status = r.status;
    e2e_resp_free(&r);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    return NULL;
}

static sqlite3 *lock_db(e2e_srv *s)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(s->db, &db), SQLITE_OK);
    /* The server's own writers (a job's progress) may hold the write lock for a moment. */
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_db(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void database_locked_then_free(void **state)
{
    e2e_srv *s = *state;
    bg_upload u = {.s = s, .text = "an upload that waited for the lock\n"};
    char id[41], aid[37], bid[37];
    pthread_t th;
    sqlite3 *db;
    double t0;
    e2e_resp r;

    assert_int_equal(e2e_start(s), 0);
    e2e_upload_text(s, "input before the lock\n", "in.txt", id);

    /* Held past the busy timeout: a clear 503, reads still answered; the job running meanwhile
     * waits (its progress, output and end state retry) and succeeds once the lock is gone. The
     * jobs last long enough (2 s) for a poll to see them STARTED on a loaded machine, and end
     * while the lock is held. */
    e2e_sleep(s, id, "2", aid);
    e2e_expect_state(s, aid, "STARTED", 202, FINISH_S);
    db = lock_db(s);
    t0 = e2e_now();
    e2e_upload(s, "refused.txt", "text/plain", "refused\n", 8, &r);
    e2e_assert_error(&r, 503);
    assert_non_null(strstr(e2e_str(r.json, "error"), "busy"));
    assert_true(e2e_now() - t0 > 5);
    e2e_resp_free(&r);
    e2e_get(s, "/file", &r);
    e2e_assert_status(&r, 200);
    e2e_resp_free(&r);
    unlock_db(db);
    e2e_expect_state(s, aid, "SUCCESS", 200, FINISH_S);

    /* Held a little while: a job's progress and output and an upload wait, then succeed. */
    e2e_sleep(s, id, "2.5", bid); /* not "2": that one would be the first's cached result */
    e2e_expect_state(s, bid, "STARTED", 202, FINISH_S);
    db = lock_db(s);
    assert_int_equal(pthread_create(&th, NULL, upload_thread, &u), 0);
    tu_nap_ms(3000);
    unlock_db(db);
    pthread_join(th, NULL);
    assert_int_equal(u.status, 202);
    e2e_expect_state(s, bid, "SUCCESS", 200, FINISH_S);
    assert_int_equal(e2e_stop(s), 0);
    expect_check_ok(s, 4); /* the input, the waited upload, the jobs' CSVs */
    E2E_PASS(s);
}

/* ---- the worker's memory limit ---- */

static void worker_over_memory_limit(void **state)
{
    e2e_srv *s = *state;
    char cfg[E2E_PATH + 16], id[41], aid[37], ok[37];
    const char *args[] = {"--workers", "1", "--config", cfg, NULL};
    FILE *f;

#ifdef TU_ASAN
    print_message("skipped worker_over_memory_limit: RLIMIT_AS cannot work under "
                  "AddressSanitizer (it reserves terabytes of address space)\n");
    skip();
#endif
    snprintf(cfg, sizeof(cfg), "%s/vas.yaml", s->dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "LIMIT_WORKER_MEMORY: %d\n", 768 << 20); /* a worker starts at ~240 MB */
    fclose(f);
    s->args = args;
    assert_int_equal(e2e_start(s), 0);
    e2e_upload_text(s, "input of a greedy job\n", "in.txt", id);
    start_crash(s, id, "alloc", 2048, aid);
    expect_failure(s, aid, "memory limit of 768 MiB (LIMIT_WORKER_MEMORY");
    start_crash(s, id, "alloc", 64, ok); /* under the limit: fine, on the same worker */
    e2e_expect_state(s, ok, "SUCCESS", 200, FINISH_S);
    assert_int_equal(e2e_stop(s), 0);
    s->args = NULL;
    expect_check_ok(s, 1);
    E2E_PASS(s);
}

/* ---- a client gone mid-download ---- */

static size_t stop_after_64k(char *p, size_t size, size_t n, void *arg)
{
    size_t *got = arg;

    (void)p;
    *got += size * n;
    return *got > (64 << 10) ? 0 : size * n; /* 0: curl aborts, closing the connection */
}

static void client_gone_mid_download(void **state)
{
    e2e_srv *s = *state;
    size_t n = (size_t)8 << 20;
    unsigned char *big = malloc(n);
    char id[41], sha[41], url[E2E_PATH];
    e2e_resp r;

    assert_non_null(big);
    e2e_fill_random(big, n, 4);
    e2e_sha1_hex(big, n, id);
    e2e_upload(s, "big.bin", "application/octet-stream", big, n, &r);
    e2e_assert_status(&r, 202);
    e2e_resp_free(&r);
    snprintf(url, sizeof(url), "%s/file/%s", s->base, id);
    for (int i = 0; i < 3; i++) {
        CURL *c = curl_easy_init();
        size_t got = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stop_after_64k);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        assert_int_equal(curl_easy_perform(c), CURLE_WRITE_ERROR);
        curl_easy_cleanup(c);
    }
    snprintf(url, sizeof(url), "/file/%s", id);
    e2e_get(s, url, &r); /* and the next client gets it all */
    e2e_assert_status(&r, 200);
    assert_int_equal(r.len, n);
    e2e_sha1_hex(r.body, r.len, sha);
    assert_string_equal(sha, id);
    e2e_resp_free(&r);
    free(big);
    expect_check_ok(s, 1);
    E2E_PASS(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        E2E_TEST_NO_SERVER(check_needs_a_database, NULL),
        E2E_TEST_NO_SERVER(server_killed_mid_upload, one_worker),
        E2E_TEST_NO_SERVER(server_killed_between_blob_and_row, one_worker),
        E2E_TEST_NO_SERVER(server_killed_mid_job, one_worker),
        E2E_TEST_NO_SERVER(server_stopped_mid_job, one_worker),
        E2E_TEST_NO_SERVER(worker_killed_mid_job, one_worker),
        E2E_TEST_NO_SERVER(worker_killed_mid_output_write, one_worker),
        E2E_TEST_NO_SERVER(worker_killed_between_output_blob_and_row, one_worker),
        E2E_TEST(output_job_succeeds, one_worker),
        cmocka_unit_test_prestate_setup_teardown(disk_full_at_upload_and_output, e2e_setup_dir,
                                                 faults_teardown, (void *)one_worker),
        E2E_TEST_NO_SERVER(database_locked_then_free, one_worker),
        E2E_TEST_NO_SERVER(worker_over_memory_limit, NULL),
        E2E_TEST(client_gone_mid_download, one_worker),
    };

    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
