/* test_store_remote.c - store/store_remote.c, the catalog side of jobs through Redis, on a real
 * SQLite file: the columns added to a database made before them; the dispatcher's PENDING list
 * (all, or only rows without an entry); `started` only for the entry queued (or none yet), once;
 * progress, success and failure only from the worker that started it, each applied twice changing
 * nothing more; a cancelled job stays REVOKED; the reaper's requeue (attempts kept, entry cleared)
 * and FAILURE at the limit; embedded jobs left to store_analysis_recover, remote ones not. */
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "testutil.h" /* after store.h and cmocka.h: brings the store fixture */

typedef tu_store_fx fx;

/* A new PENDING sleep analysis; its id into id. */
static void new_job(fx *f, char id[STORE_UUID_LEN + 1])
{
    store_analysis a = {0};
    char fid[STORE_ID_LEN + 1];
    vas_err e = {0};

    tu_put(f->s, "input", "in.txt", fid);
    snprintf(a.name, sizeof(a.name), "sleep");
    snprintf(a.inputs[0], sizeof(a.inputs[0]), "%s", fid);
    a.n_inputs = 1;
    a.args = json_object();
    assert_int_equal(store_analysis_insert(f->s, &a, &e), VAS_OK);
    memcpy(id, a.id, STORE_UUID_LEN + 1);
    store_analysis_clear(&a);
}

/* The row of id (caller clears it). */
static store_analysis row(fx *f, const char *id)
{
    store_analysis a;
    vas_err e = {0};

    assert_int_equal(store_analysis_find(f->s, id, &a, &e), VAS_OK);
    return a;
}

static void assert_row(fx *f, const char *id, const char *state, const char *worker, int attempts)
{
    store_analysis a = row(f, id);

    assert_string_equal(a.state, state);
    assert_string_equal(a.worker, worker);
    assert_int_equal(a.attempts, attempts);
    store_analysis_clear(&a);
}

static void columns_added_to_an_old_database(void **state)
{
    fx *f = *state;
    char path[4096];
    sqlite3 *db = NULL;
    store *s = NULL;
    vas_err e = {0};

    /* A database from before the Redis queue: the table without the two columns. */
    snprintf(path, sizeof(path), "%s/old.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE analyses(seq INTEGER PRIMARY KEY, id TEXT, task_id TEXT,"
                     " name TEXT, model TEXT, file_id TEXT, file2_id TEXT, args TEXT,"
                     " state TEXT, done INTEGER DEFAULT 0, total INTEGER DEFAULT 0, unit TEXT,"
                     " result TEXT, description TEXT, created REAL NOT NULL, started REAL,"
                     " finished REAL, worker_pid INTEGER, attempts INTEGER NOT NULL DEFAULT 0,"
                     " cache_key TEXT);"
                     "INSERT INTO analyses(id, task_id, name, args, state, created)"
                     " VALUES('11111111-1111-4111-8111-111111111111', 't', 'sleep', '{}',"
                     " 'SUCCESS', 1)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(path, f->data, &s, &e), VAS_OK);
    store_close(s);
    assert_int_equal(store_open(path, f->data, &s, &e), VAS_OK); /* twice: added once */
    store_analysis a;
    assert_int_equal(store_analysis_find(s, "11111111", &a, &e), VAS_OK);
    assert_string_equal(a.worker, "");
    assert_string_equal(a.queue_entry, "");
    store_analysis_clear(&a);
    store_close(s);
}

static void pending_lists_new_or_all(void **state)
{
    fx *f = *state;
    char a[STORE_UUID_LEN + 1], b[STORE_UUID_LEN + 1];
    json_t *all = NULL, *fresh = NULL;
    vas_err e = {0};

    new_job(f, a);
    new_job(f, b);
    assert_int_equal(store_remote_queued(f->s, a, "vas:jobs:-:1-0", &e), VAS_OK);
    assert_int_equal(store_remote_pending(f->s, 100, 0, &all, &e), VAS_OK);
    assert_int_equal(store_remote_pending(f->s, 100, 1, &fresh, &e), VAS_OK);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(all, 0), 0)), a);
    assert_true(json_is_true(json_array_get(json_array_get(all, 0), 1)));
    assert_true(json_is_false(json_array_get(json_array_get(all, 1), 1)));
    assert_int_equal(json_array_size(fresh), 1);
    assert_string_equal(json_string_value(json_array_get(json_array_get(fresh, 0), 0)), b);
    json_decref(all);
    json_decref(fresh);
}

static void started_once_for_its_entry(void **state)
{
    fx *f = *state;
    char id[STORE_UUID_LEN + 1];
    vas_err e = {0};
    int changed = -1;

    new_job(f, id);
    assert_int_equal(store_remote_queued(f->s, id, "vas:jobs:-:2-0", &e), VAS_OK);
    /* An older entry of the same job (replaced since) starts nothing. */
    assert_int_equal(store_remote_start(f->s, id, "w1", "vas:jobs:-:1-0", &changed, &e), VAS_OK);
    assert_int_equal(changed, 0);
    assert_row(f, id, "PENDING", "", 0);
    assert_int_equal(store_remote_start(f->s, id, "w1", "vas:jobs:-:2-0", &changed, &e), VAS_OK);
    assert_int_equal(changed, 1);
    assert_row(f, id, "STARTED", "w1", 1);
    /* Replayed, or claimed twice by another worker: no change. */
    assert_int_equal(store_remote_start(f->s, id, "w1", "vas:jobs:-:2-0", &changed, &e), VAS_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(store_remote_start(f->s, id, "w2", "vas:jobs:-:2-0", &changed, &e), VAS_OK);
    assert_int_equal(changed, 0);
    assert_row(f, id, "STARTED", "w1", 1);
}

static void end_only_from_its_worker(void **state)
{
    fx *f = *state;
    char id[STORE_UUID_LEN + 1], id2[STORE_UUID_LEN + 1];
    json_t *res = json_pack("{s:i}", "n", 7);
    vas_err e = {0};
    int changed = -1;

    new_job(f, id);
    assert_int_equal(store_remote_start(f->s, id, "w1", "s:1-0", &changed, &e), VAS_OK);
    assert_int_equal(store_remote_progress(f->s, id, "w2", 5, 9, "s", &e), VAS_OK);
    store_analysis a = row(f, id);
    assert_int_equal(a.done, 0); /* another worker's progress is ignored */
    store_analysis_clear(&a);
    assert_int_equal(store_remote_progress(f->s, id, "w1", 5, 9, NULL, &e), VAS_OK);
    a = row(f, id);
    assert_int_equal(a.done, 5);
    assert_int_equal(a.total, 9);
    store_analysis_clear(&a);
    assert_int_equal(store_remote_end(f->s, id, "w2", res, NULL, &changed, &e), VAS_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(store_remote_end(f->s, id, "w1", res, NULL, &changed, &e), VAS_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(store_remote_end(f->s, id, "w1", NULL, "late", &changed, &e), VAS_OK);
    assert_int_equal(changed, 0);
    a = row(f, id);
    assert_string_equal(a.state, "SUCCESS");
    assert_int_equal(json_integer_value(json_object_get(a.result, "n")), 7);
    assert_int_equal(a.done, 9);
    store_analysis_clear(&a);

    /* A failure keeps the worker's words; a cancelled job stays REVOKED. */
    new_job(f, id2);
    assert_int_equal(store_remote_start(f->s, id2, "w1", "s:2-0", &changed, &e), VAS_OK);
    assert_int_equal(store_analysis_cancel(f->s, id2, &e), VAS_OK);
    assert_int_equal(store_remote_end(f->s, id2, "w1", res, NULL, &changed, &e), VAS_OK);
    assert_int_equal(changed, 0);
    assert_row(f, id2, "REVOKED", "w1", 1);
    new_job(f, id2);
    assert_int_equal(store_remote_start(f->s, id2, "w1", "s:3-0", &changed, &e), VAS_OK);
    assert_int_equal(store_remote_end(f->s, id2, "w1", NULL, "out of film", &changed, &e), VAS_OK);
    a = row(f, id2);
    assert_string_equal(a.state, "FAILURE");
    assert_string_equal(a.description, "out of film");
    store_analysis_clear(&a);
    json_decref(res);
}

static void requeue_then_fail_at_the_limit(void **state)
{
    fx *f = *state;
    char id[STORE_UUID_LEN + 1], entry[32];
    json_t *running = NULL;
    vas_err e = {0};
    int changed = 0, outcome = -1, requeued = -1, failed = -1;

    new_job(f, id);
    for (int attempt = 1; attempt <= 3; attempt++) {
        snprintf(entry, sizeof(entry), "s:%d-0", attempt);
        assert_int_equal(store_remote_queued(f->s, id, entry, &e), VAS_OK);
        assert_int_equal(store_remote_start(f->s, id, "w-dead", entry, &changed, &e), VAS_OK);
        assert_int_equal(changed, 1);
        /* A server restart leaves remote jobs to the reaper. */
        assert_int_equal(store_analysis_recover(f->s, &requeued, &failed, &e), VAS_OK);
        assert_int_equal(requeued + failed, 0);
        assert_int_equal(store_remote_running(f->s, &running, &e), VAS_OK);
        assert_int_equal(json_array_size(running), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(running, 0), "entry")),
                            entry);
        json_decref(running);
        assert_int_equal(store_remote_requeue(f->s, id, "w-other", 3, &outcome, &e), VAS_OK);
        assert_int_equal(outcome, 0); /* not that worker's */
        assert_int_equal(store_remote_requeue(f->s, id, "w-dead", 3, &outcome, &e), VAS_OK);
        assert_int_equal(outcome, attempt < 3 ? 1 : 2);
    }
    store_analysis a = row(f, id);
    assert_string_equal(a.state, "FAILURE");
    assert_int_equal(a.attempts, 3);
    assert_string_equal(a.description,
                        "worker w-dead stopped answering during the job; tried 3 times");
    store_analysis_clear(&a);
    assert_int_equal(store_remote_requeue(f->s, id, "w-dead", 3, &outcome, &e), VAS_OK);
    assert_int_equal(outcome, 0); /* once */
}

#define T(name) cmocka_unit_test_setup_teardown(name, tu_store_setup, tu_store_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(columns_added_to_an_old_database), T(pending_lists_new_or_all),
        T(started_once_for_its_entry),       T(end_only_from_its_worker),
        T(requeue_then_fail_at_the_limit),
    };

    log_set_level(LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
