/* store_remote.c - the catalog side of jobs run through Redis (docs/redis-queue.md): the
 * columns `worker` and `queue_entry` of `analyses`, and the transitions rq_server makes from
 * the workers' events and its reaper. Each is one UPDATE naming the state it leaves and the
 * worker it expects, so an event applied twice (a server killed before its XACK) or arriving
 * late (a `success` after a cancel, a `started` for an entry since replaced) changes nothing.
 * Threads: like every store call, one thread per store (rq_server's threads open their own). */
#include "store/store_int.h"

#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if analyses has column name, 0 if not, < 0 on error. */
static int has_column(store *s, const char *name, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc =
        store_stmt(s, -1, "SELECT 1 FROM pragma_table_info('analyses') WHERE name = ?", &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "reading the analyses table's columns");
}

int store_remote_init(store *s, vas_err *e)
{
    static const char *const cols[] = {"worker", "queue_entry"};
    char sql[128];
    int rc = VAS_OK, have = 0;

    for (size_t i = 0; rc >= 0 && i < sizeof(cols) / sizeof(cols[0]); i++) /* read first */
        have += (rc = has_column(s, cols[i], e)) == 1;
    if (rc < 0 || have == (int)(sizeof(cols) / sizeof(cols[0])))
        return rc < 0 ? rc : VAS_OK;          /* nothing to add: no write lock taken */
    rc = store_exec(s, "BEGIN IMMEDIATE", e); /* two processes opening at once add it once */
    for (size_t i = 0; rc == VAS_OK && i < sizeof(cols) / sizeof(cols[0]); i++) {
        rc = has_column(s, cols[i], e);
        if (rc == 0) {
            snprintf(sql, sizeof(sql), "ALTER TABLE analyses ADD COLUMN %s TEXT", cols[i]);
            rc = store_exec(s, sql, e);
        } else if (rc == 1) {
            rc = VAS_OK;
        }
    }
    if (rc == VAS_OK)
        rc = store_exec(s, "COMMIT", e);
    if (rc < 0)
        store_exec(s, "ROLLBACK", NULL);
    return rc;
}

int store_remote_begin(store *s, vas_err *e)
{
    return store_exec(s, "BEGIN IMMEDIATE", e);
}

int store_remote_end_batch(store *s, int ok, vas_err *e)
{
    if (ok)
        return store_exec(s, "COMMIT", e);
    store_exec(s, "ROLLBACK", NULL);
    return VAS_OK;
}

/* Runs a SELECT with int params p1, p2 and makes each row a JSON value with row(); a new array
 * in *out. */
static int select_rows(store *s, const char *sql, int p1, int p2, json_t *(*row)(sqlite3_stmt *),
                       const char *what, json_t **out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    if (!arr)
        return err_set(e, VAS_ENOMEM, "out of memory");
    rc = store_stmt(s, -1, sql, &st, e);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    sqlite3_bind_int(st, 1, p1);
    sqlite3_bind_int(st, 2, p2);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, row(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_db_err(s, e, what);
    }
    *out = arr;
    return VAS_OK;
}

static json_t *pending_row(sqlite3_stmt *st)
{
    return json_pack("[s, b]", sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
}

int store_remote_pending(store *s, int max, int only_new, json_t **out, vas_err *e)
{
    return select_rows(s,
                       "SELECT id, queue_entry IS NOT NULL FROM analyses WHERE state = 'PENDING'"
                       " AND (?2 = 0 OR queue_entry IS NULL) ORDER BY seq LIMIT ?1",
                       max, only_new, pending_row, "listing PENDING analyses", out, e);
}

/* Runs sql (the cached statement which, or -1) with text params p[0..n) (NULL binds NULL); rows
 * changed into *changed. */
static int run_st(store *s, int which, const char *sql, int n, const char *const *p, int *changed,
                  vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, which, sql, &st, e);

    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        if (p[i])
            sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (which < 0)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "updating an analysis from a worker's event");
    if (changed)
        *changed = sqlite3_changes(s->db);
    return VAS_OK;
}

static int run(store *s, const char *sql, int n, const char *const *p, int *changed, vas_err *e)
{
    return run_st(s, -1, sql, n, p, changed, e);
}

int store_remote_queued(store *s, const char *id, const char *entry, vas_err *e)
{
    const char *p[] = {id, entry};

    return run_st(s, ST_RM_QUEUED,
                  "UPDATE analyses SET queue_entry = ?2 WHERE id = ?1 AND state = 'PENDING'", 2, p,
                  NULL, e);
}

int store_remote_start(store *s, const char *id, const char *worker, const char *entry,
                       int *changed, vas_err *e)
{
    char now[32];
    const char *p[] = {id, worker, entry, now};

    snprintf(now, sizeof(now), "%.6f", util_now());
    return run_st(s, ST_RM_START,
                  "UPDATE analyses SET state = 'STARTED', worker = ?2, queue_entry = ?3,"
                  " started = CAST(?4 AS REAL), worker_pid = NULL, done = 0,"
                  " attempts = attempts + 1"
                  " WHERE id = ?1 AND state = 'PENDING' AND ifnull(queue_entry, ?3) = ?3",
                  4, p, changed, e);
}

int store_remote_progress(store *s, const char *id, const char *worker, int64_t done, int64_t total,
                          const char *unit, vas_err *e)
{
    char d[24], t[24];
    const char *p[] = {id, worker, d, t, unit};

    snprintf(d, sizeof(d), "%lld", (long long)done);
    snprintf(t, sizeof(t), "%lld", (long long)total);
    return run_st(s, ST_RM_PROGRESS,
                  "UPDATE analyses SET done = CAST(?3 AS INTEGER), total = CAST(?4 AS INTEGER),"
                  " unit = ifnull(?5, unit) WHERE id = ?1 AND state = 'STARTED' AND worker = ?2",
                  5, p, NULL, e);
}

int store_remote_end(store *s, const char *id, const char *worker, const json_t *result,
                     const char *description, int *changed, vas_err *e)
{
    char now[32], *res = result ? json_dumps(result, JSON_COMPACT) : NULL;
    const char *p[] = {id, worker, res, description, now};
    int rc;

    if (result && !res)
        return err_set(e, VAS_ENOMEM, "out of memory saving a result");
    snprintf(now, sizeof(now), "%.6f", util_now());
    rc = run_st(s, ST_RM_END,
                "UPDATE analyses SET state = iif(?3 IS NULL, 'FAILURE', 'SUCCESS'), result = ?3,"
                " description = iif(?3 IS NULL, ifnull(?4, 'the analysis failed'), NULL),"
                " finished = CAST(?5 AS REAL), done = iif(?3 IS NULL, done, total)"
                " WHERE id = ?1 AND state = 'STARTED' AND worker = ?2",
                5, p, changed, e);
    free(res);
    return rc;
}

static json_t *running_row(sqlite3_stmt *st)
{
    return json_pack("{s:s, s:s, s:s, s:i}", "id", sqlite3_column_text(st, 0), "worker",
                     sqlite3_column_text(st, 1), "entry", sqlite3_column_text(st, 2), "attempts",
                     sqlite3_column_int(st, 3));
}

int store_remote_running(store *s, json_t **out, vas_err *e)
{
    return select_rows(s,
                       "SELECT id, worker, ifnull(queue_entry, ''), attempts FROM analyses"
                       " WHERE state = 'STARTED' AND ifnull(worker, 'embedded') != 'embedded'"
                       " AND ?1 = ?2",
                       0, 0, running_row, "listing remote jobs", out, e);
}

int store_remote_requeue(store *s, const char *id, const char *worker, int max_attempts,
                         int *outcome, vas_err *e)
{
    char now[32], max[16], why[256];
    const char *p[] = {id, worker, max, now, why};
    int changed = 0, rc;

    snprintf(now, sizeof(now), "%.6f", util_now());
    snprintf(max, sizeof(max), "%d", max_attempts);
    snprintf(why, sizeof(why), "worker %s stopped answering during the job; tried %d times", worker,
             max_attempts);
    *outcome = 0;
    rc = run(s,
             "UPDATE analyses SET state = 'FAILURE', description = ?5,"
             " finished = CAST(?4 AS REAL) WHERE id = ?1 AND state = 'STARTED' AND worker = ?2"
             " AND attempts >= CAST(?3 AS INTEGER)",
             5, p, &changed, e);
    if (rc == VAS_OK && changed) {
        *outcome = 2;
        return VAS_OK;
    }
    if (rc == VAS_OK)
        rc = run(s,
                 "UPDATE analyses SET state = 'PENDING', worker = NULL, queue_entry = NULL,"
                 " done = 0, started = NULL WHERE id = ?1 AND state = 'STARTED' AND worker = ?2",
                 2, p, &changed, e);
    if (rc == VAS_OK && changed)
        *outcome = 1;
    return rc;
}
