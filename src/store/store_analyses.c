/* store_analyses.c - the `analyses` table: the life of one analysis.
 *
 * States and the function making each transition (every UPDATE names the state it leaves, so
 * two processes racing on one row can't both win):
 *   (none)  -> PENDING   store_analysis_insert       (HTTP thread)
 *   PENDING -> STARTED   store_analysis_claim        (worker)
 *   STARTED -> SUCCESS   store_analysis_succeed      (worker)
 *   STARTED -> FAILURE   store_analysis_fail         (worker)
 *                        store_analysis_fail_worker  (supervisor, the worker died)
 *   STARTED -> PENDING   store_analysis_recover      (start-up, once per job; then FAILURE)
 *   Jobs through Redis (store_remote.c, rq_server's threads):
 *   PENDING -> STARTED   store_remote_start          (a remote worker's `started` event)
 *   STARTED -> SUCCESS/FAILURE  store_remote_end     (its `success`/`failure` event)
 *   STARTED -> PENDING/FAILURE  store_remote_requeue (the reaper: the worker died)
 *   PENDING|STARTED -> REVOKED  store_analysis_cancel (HTTP thread; a worker sees it on its next
 *                        progress write and stops)
 */
#include "store/store_int.h"

#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const store_states[5] = {"PENDING", "STARTED", "SUCCESS", "FAILURE", "REVOKED"};

#define AN_COLS                                                                                    \
    "seq, id, task_id, name, model, args, state, done, total, unit, result, description, "         \
    "created, started, finished, worker_pid, attempts, worker, queue_entry"

void store_analysis_clear(store_analysis *a)
{
    json_decref(a->args);
    json_decref(a->result);
    free(a->description);
    a->args = a->result = NULL;
    a->description = NULL;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int load_inputs(store *s, int64_t seq, store_analysis *a, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, ST_AN_INPUTS,
                        "SELECT file_id FROM analysis_inputs WHERE analysis_seq = ? ORDER BY idx",
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, seq);
    a->n_inputs = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && a->n_inputs < STORE_MAX_INPUTS)
        snprintf(a->inputs[a->n_inputs++], STORE_ID_LEN + 1, "%s", col_text(st, 0));
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? VAS_OK : store_db_err(s, e, "reading inputs");
}

/* Fills a from a row selected with AN_COLS; loads its inputs. */
static int row_to_analysis(store *s, sqlite3_stmt *st, store_analysis *a, vas_err *e)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "%s", col_text(st, 1));
    snprintf(a->task_id, sizeof(a->task_id), "%s", col_text(st, 2));
    snprintf(a->name, sizeof(a->name), "%s", col_text(st, 3));
    snprintf(a->model, sizeof(a->model), "%s", col_text(st, 4));
    a->args = json_loads(col_text(st, 5), 0, NULL);
    snprintf(a->state, sizeof(a->state), "%s", col_text(st, 6));
    a->done = sqlite3_column_int64(st, 7);
    a->total = sqlite3_column_int64(st, 8);
    snprintf(a->unit, sizeof(a->unit), "%s", col_text(st, 9));
    if (sqlite3_column_type(st, 10) != SQLITE_NULL)
        a->result = json_loads(col_text(st, 10), 0, NULL);
    if (sqlite3_column_type(st, 11) != SQLITE_NULL)
        a->description = strdup(col_text(st, 11));
    a->created = sqlite3_column_double(st, 12);
    a->started = sqlite3_column_double(st, 13);
    a->finished = sqlite3_column_double(st, 14);
    a->worker_pid = sqlite3_column_int(st, 15);
    a->attempts = sqlite3_column_int(st, 16);
    snprintf(a->worker, sizeof(a->worker), "%s", col_text(st, 17));
    snprintf(a->queue_entry, sizeof(a->queue_entry), "%s", col_text(st, 18));
    if (!a->args)
        a->args = json_object();
    return load_inputs(s, sqlite3_column_int64(st, 0), a, e);
}

static int file_exists(store *s, const char *id, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1, "SELECT 1 FROM files WHERE id = ?", &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "checking a file");
}

static int insert_row(store *s, store_analysis *a, int64_t *seq, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    json_t *none = a->args ? NULL : json_object(); /* ours to free: dumped, then dropped */
    char *args = json_dumps(a->args ? a->args : none, JSON_COMPACT);
    char *result = a->result ? json_dumps(a->result, JSON_COMPACT) : NULL;
    int rc;

    json_decref(none);
    if (!args || (a->result && !result)) {
        free(args);
        return err_set(e, VAS_ENOMEM, "out of memory saving an analysis");
    }
    rc = store_stmt(s, -1,
                    "INSERT INTO analyses(id, task_id, name, model, file_id, file2_id, args, state,"
                    " created, unit, cache_key, result, started, finished)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, iif(?11 IS NULL, 'PENDING', 'SUCCESS'),"
                    " ?8, ?9, nullif(?10, ''), ?11, iif(?11 IS NULL, NULL, ?8),"
                    " iif(?11 IS NULL, NULL, ?8))",
                    &st, e);
    if (rc < 0) {
        free(args);
        free(result);
        return rc;
    }
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->task_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->inputs[0], -1, SQLITE_STATIC);
    if (a->n_inputs > 1)
        sqlite3_bind_text(st, 6, a->inputs[1], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, args, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, a->created);
    sqlite3_bind_text(st, 9, a->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, a->cache_key, -1, SQLITE_STATIC);
    if (result)
        sqlite3_bind_text(st, 11, result, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "saving an analysis");
    sqlite3_finalize(st);
    free(args);
    free(result);
    *seq = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int insert_inputs(store *s, const store_analysis *a, int64_t seq, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "INSERT INTO analysis_inputs(analysis_seq, idx, file_id)"
                        " VALUES(?, ?, ?)",
                        &st, e);

    if (rc < 0)
        return rc;
    for (int i = 0; i < a->n_inputs && rc == VAS_OK; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_text(st, 3, a->inputs[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = store_db_err(s, e, "saving an analysis's inputs");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_analysis_insert(store *s, store_analysis *a, vas_err *e)
{
    int64_t seq = 0;
    int rc;

    if (a->n_inputs < 1)
        return err_set(e, VAS_EINVAL, "an analysis needs a file_id");
    if (util_uuid(a->id) < 0 || util_uuid(a->task_id) < 0)
        return err_set(e, VAS_EIO, "no randomness available for an id");
    a->created = util_now();
    rc = store_exec(s, "BEGIN IMMEDIATE", e);
    if (rc < 0)
        return rc;
    /* Inputs are checked under the write lock: a DELETE /file can't remove one in between. */
    for (int i = 0; i < a->n_inputs && rc == VAS_OK; i++) {
        rc = file_exists(s, a->inputs[i], e);
        if (rc == 0)
            rc = err_set(e, VAS_ENOTFOUND, "file %s does not exist", a->inputs[i]);
        else if (rc == 1)
            rc = VAS_OK;
    }
    if (rc == VAS_OK)
        rc = insert_row(s, a, &seq, e);
    if (rc == VAS_OK)
        rc = insert_inputs(s, a, seq, e);
    if (rc == VAS_OK)
        rc = store_exec(s, "COMMIT", e);
    if (rc < 0)
        store_exec(s, "ROLLBACK", NULL);
    else
        snprintf(a->state, sizeof(a->state), "%s", a->result ? "SUCCESS" : "PENDING");
    return rc;
}

int store_analysis_find(store *s, const char *prefix, store_analysis *out, vas_err *e)
{
    char lo[STORE_UUID_LEN + 2], hi[STORE_UUID_LEN + 2];
    sqlite3_stmt *st = NULL;
    int rc, n = 0;
    int64_t first = -1;

    rc = store_prefix_bounds(prefix, STORE_MIN_PREFIX, STORE_UUID_LEN, 1, lo, hi, "analysis", e);
    if (rc < 0)
        return rc;
    rc = store_stmt(s, ST_AN_FIND,
                    "SELECT " AN_COLS " FROM analyses WHERE id >= ?1 AND id < ?2"
                    " UNION ALL SELECT " AN_COLS
                    " FROM analyses WHERE task_id >= ?1 AND task_id < ?2"
                    " LIMIT 2",
                    &st, e);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == 0) {
            first = sqlite3_column_int64(st, 0);
            rc = row_to_analysis(s, st, out, e);
            if (rc < 0)
                break;
        } else if (sqlite3_column_int64(st, 0) == first) {
            n--; /* the same row matched by both ids */
        }
    }
    sqlite3_reset(st);
    if (rc < 0)
        return rc;
    if (rc != SQLITE_DONE) {
        if (n > 0)
            store_analysis_clear(out);
        return store_db_err(s, e, "looking up an analysis");
    }
    if (n == 0)
        return err_set(e, VAS_ENOTFOUND, "no analysis has an id starting with '%s'", lo);
    if (n > 1) {
        store_analysis_clear(out);
        return err_set(e, VAS_EAMBIG,
                       "more than one analysis has an id starting with '%s'; give "
                       "more characters",
                       lo);
    }
    return VAS_OK;
}

int store_analysis_list(store *s, int64_t limit, int64_t offset, json_t **out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    char when[32];
    int rc;

    if (!arr)
        return err_set(e, VAS_ENOMEM, "out of memory listing analyses");
    rc = store_stmt(s, ST_AN_LIST,
                    "SELECT task_id, id, file_id, file2_id, name, model, state, done, total, unit,"
                    " created FROM analyses ORDER BY seq DESC LIMIT ?1 OFFSET ?2",
                    &st, e);
    if (rc < 0)
        goto fail;
    sqlite3_bind_int64(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        util_iso8601(sqlite3_column_double(st, 10), when, sizeof(when));
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:{s:I, s:I, s:s}, s:s}", "task_id",
                      col_text(st, 0), "analysis_id", col_text(st, 1), "file_id", col_text(st, 2),
                      "file2_id",
                      sqlite3_column_type(st, 3) == SQLITE_NULL ? json_null()
                                                                : json_string(col_text(st, 3)),
                      "analysis_name", col_text(st, 4), "model",
                      *col_text(st, 5) ? json_string(col_text(st, 5)) : json_null(), "state",
                      col_text(st, 6), "progress", "done", (json_int_t)sqlite3_column_int64(st, 7),
                      "total", (json_int_t)sqlite3_column_int64(st, 8), "unit", col_text(st, 9),
                      "created", when));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rc = store_db_err(s, e, "listing analyses");
        goto fail;
    }
    *out = arr;
    return VAS_OK;
fail:
    json_decref(arr);
    return rc;
}

/* Runs a one-row UPDATE with text params; returns rows changed or < 0. */
static int update(store *s, const char *sql, const char *a1, const char *a2, double t, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1, sql, &st, e);

    if (rc < 0)
        return rc;
    if (a1)
        sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
    if (a2)
        sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, t);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "updating an analysis");
    return sqlite3_changes(s->db);
}

int store_analysis_cancel(store *s, const char *id, vas_err *e)
{
    int n = update(s,
                   "UPDATE analyses SET state = 'REVOKED', finished = ?3"
                   " WHERE id = ?1 AND state IN ('PENDING', 'STARTED')",
                   id, NULL, util_now(), e);

    if (n < 0)
        return n;
    if (n == 0)
        return err_set(e, VAS_ECONFLICT, "analysis %s has already finished", id);
    return VAS_OK;
}

int store_analysis_claim(store *s, int worker_pid, store_analysis *out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "UPDATE analyses SET state = 'STARTED', started = ?1, worker_pid = ?2,"
                        " worker = 'embedded', attempts = attempts + 1"
                        " WHERE seq = (SELECT seq FROM analyses WHERE state = 'PENDING' ORDER BY "
                        "seq LIMIT 1) RETURNING " AN_COLS,
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_double(st, 1, util_now());
    sqlite3_bind_int(st, 2, worker_pid);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        /* RETURNING rows are ready at once: the inputs can be read while st is still open. */
        memset(out, 0, sizeof(*out));
        rc = row_to_analysis(s, st, out, e) == VAS_OK ? SQLITE_ROW : -1;
        if (sqlite3_step(st) != SQLITE_DONE && rc == SQLITE_ROW)
            rc = -1;
        sqlite3_finalize(st);
        if (rc < 0) {
            store_analysis_clear(out);
            return store_db_err(s, e, "claiming a job");
        }
        return VAS_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return VAS_ENOTFOUND;
    return store_db_err(s, e, "claiming a job");
}

int store_analysis_progress(store *s, const char *id, int64_t done, int64_t total, const char *unit,
                            char *state_out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, ST_AN_PROGRESS,
                        "UPDATE analyses SET done = ?2, total = ?3, unit = ?4"
                        " WHERE id = ?1 AND state = 'STARTED'",
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, done);
    sqlite3_bind_int64(st, 3, total);
    sqlite3_bind_text(st, 4, unit, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "writing progress");
    if (state_out)
        snprintf(state_out, 12, "%s", sqlite3_changes(s->db) ? "STARTED" : "REVOKED");
    return VAS_OK;
}

int store_analysis_succeed(store *s, const char *id, json_t *result, vas_err *e)
{
    char *r = json_dumps(result, JSON_COMPACT);
    int n;

    if (!r)
        return err_set(e, VAS_ENOMEM, "out of memory saving a result");
    n = update(s,
               "UPDATE analyses SET state = 'SUCCESS', result = ?2, finished = ?3,"
               " done = total WHERE id = ?1 AND state = 'STARTED'",
               id, r, util_now(), e);
    free(r);
    if (n < 0)
        return n;
    return n ? VAS_OK : err_set(e, VAS_ECANCELLED, "analysis %s was cancelled", id);
}

int store_analysis_fail(store *s, const char *id, const char *description, vas_err *e)
{
    int n = update(s,
                   "UPDATE analyses SET state = 'FAILURE', description = ?2, finished = ?3"
                   " WHERE id = ?1 AND state = 'STARTED'",
                   id, description, util_now(), e);

    if (n < 0)
        return n;
    return n ? VAS_OK : err_set(e, VAS_ECANCELLED, "analysis %s was cancelled", id);
}

int store_analysis_fail_worker(store *s, int worker_pid, const char *description, int *n,
                               vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "UPDATE analyses SET state = 'FAILURE', description = ?2, finished = ?3"
                        " WHERE worker_pid = ?1 AND state = 'STARTED'",
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, worker_pid);
    sqlite3_bind_text(st, 2, description, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, util_now());
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "failing a dead worker's job");
    *n = sqlite3_changes(s->db);
    return VAS_OK;
}

int store_analysis_recover(store *s, int *requeued, int *failed, vas_err *e)
{
    int rc = store_exec(s, "BEGIN IMMEDIATE", e);

    if (rc < 0)
        return rc;
    rc = update(s,
                "UPDATE analyses SET state = 'FAILURE', finished = ?3, description ="
                " 'the server stopped twice while this analysis was running; start it again'"
                " WHERE state = 'STARTED' AND attempts >= 2"
                " AND ifnull(worker, 'embedded') = 'embedded'",
                NULL, NULL, util_now(), e);
    if (rc >= 0) {
        *failed = rc;
        rc = update(s,
                    "UPDATE analyses SET state = 'PENDING', worker_pid = NULL, done = 0"
                    " WHERE state = 'STARTED' AND ?3 > 0"
                    " AND ifnull(worker, 'embedded') = 'embedded'",
                    NULL, NULL, 1.0, e);
    }
    if (rc >= 0) {
        *requeued = rc;
        rc = store_exec(s, "COMMIT", e);
    }
    if (rc < 0) {
        store_exec(s, "ROLLBACK", NULL);
        return rc;
    }
    return VAS_OK;
}

/* ---- running job counters for GET /metrics ----
 * DESIGN: counting by state and bucketing durations by scanning `analyses` made a scrape cost
 * O(analyses). Instead two small tables hold the answer, kept by triggers on `analyses`, so every
 * writer (HTTP threads, workers, the supervisor, clean-up, another process) keeps them right and
 * they last across restarts with the rows they describe:
 *   job_counts(state, n)    analyses in each state;
 *   job_hist(le, n, secs)   SUCCESS/FAILURE analyses with both times whose duration is <= le, and
 *                           the sum of those durations (le = +Inf: all of them).
 * store_job_stats_init creates them once, filled from the rows already there inside the write
 * transaction that creates the triggers, so no change can fall between the fill and the
 * triggers. A progress UPDATE (done/total) does not touch the columns the triggers watch. */

const double store_job_buckets[STORE_JOB_BUCKETS] = {0.005, 0.01, 0.05, 0.1, 0.5, 1,
                                                     5,     10,   30,   60,  300, 1800};

/* SQL: row x is a finished job whose duration is <= job_hist.le. */
#define JOB_DONE(x)                                                                                \
    x ".state IN ('SUCCESS', 'FAILURE') AND " x ".started IS NOT NULL AND " x                      \
      ".finished IS NOT NULL AND le >= " x ".finished - " x ".started"
/* SQL: adds (op "+") or takes away (op "-") row x from the counters. */
#define JOB_ADD(x, op)                                                                             \
    "UPDATE job_counts SET n = n " op " 1 WHERE state = " x ".state;"                              \
    "UPDATE job_hist SET n = n " op " 1, secs = secs " op " (" x ".finished - " x ".started)"      \
    " WHERE " JOB_DONE(x) ";"

static const char job_tables[] =
    "CREATE TABLE IF NOT EXISTS job_counts(state TEXT PRIMARY KEY, n INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS job_hist(le REAL PRIMARY KEY, n INTEGER NOT NULL,"
    "  secs REAL NOT NULL);"
    "DELETE FROM job_counts; DELETE FROM job_hist;"
    "INSERT INTO job_counts VALUES ('PENDING', 0), ('STARTED', 0), ('SUCCESS', 0),"
    "  ('FAILURE', 0), ('REVOKED', 0);"
    "INSERT INTO job_hist VALUES (9e999, 0, 0);"; /* 9e999: +Inf */

static const char job_fill[] =
    "UPDATE job_counts SET n = (SELECT count(*) FROM analyses a WHERE a.state = job_counts.state);"
    "UPDATE job_hist SET n = (SELECT count(*) FROM analyses a WHERE " JOB_DONE(
        "a") "),"
             "  secs = (SELECT total(a.finished - a.started) FROM analyses a WHERE " JOB_DONE(
                 "a") ");"
                      "CREATE TRIGGER IF NOT EXISTS job_stats_ins AFTER INSERT ON analyses"
                      " BEGIN " JOB_ADD(
                          "NEW",
                          "+") " END;"
                               "CREATE TRIGGER IF NOT EXISTS job_stats_del AFTER DELETE ON analyses"
                               " BEGIN " JOB_ADD(
                                   "OLD", "-") " END;"
                                               "CREATE TRIGGER IF NOT EXISTS job_stats_upd AFTER "
                                               "UPDATE OF state, started, finished"
                                               " ON analyses BEGIN " JOB_ADD("OLD", "-") JOB_ADD(
                                                   "NEW", "+") " END;"
                                                               "INSERT OR REPLACE INTO meta VALUES "
                                                               "('job_stats', 1);";

/* 1 when the counters exist, 0 when not, < 0 on error. */
static int job_stats_exist(store *s, vas_err *e)
{
    int64_t one;

    return store_int(s, -1, "SELECT 1 FROM meta WHERE key = 'job_stats'",
                     "looking for the job counters", &one, e);
}

static int job_bounds_insert(store *s, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1, "INSERT INTO job_hist VALUES (?, 0, 0)", &st, e);

    for (int i = 0; rc == VAS_OK && i < STORE_JOB_BUCKETS; i++) {
        sqlite3_bind_double(st, 1, store_job_buckets[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = store_db_err(s, e, "making the job counters");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int store_job_stats_init(store *s, vas_err *e)
{
    int rc = job_stats_exist(s, e);

    if (rc != 0)
        return rc < 0 ? rc : VAS_OK;
    rc = store_exec(s, "BEGIN IMMEDIATE", e);
    if (rc < 0)
        return rc;
    /* Another process may have done it meanwhile: doing it again under the write lock is exact. */
    rc = store_exec(s, job_tables, e);
    if (rc == VAS_OK)
        rc = job_bounds_insert(s, e);
    if (rc == VAS_OK)
        rc = store_exec(s, job_fill, e);
    if (rc == VAS_OK)
        rc = store_exec(s, "COMMIT", e);
    if (rc < 0)
        store_exec(s, "ROLLBACK", NULL);
    return rc;
}

int store_analysis_counts(store *s, int64_t counts[5], vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1, "SELECT state, n FROM job_counts", &st, e);

    if (rc < 0)
        return rc;
    memset(counts, 0, 5 * sizeof(counts[0]));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        for (int i = 0; i < 5; i++)
            if (strcmp(col_text(st, 0), store_states[i]) == 0)
                counts[i] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "counting analyses");
}

/* The durations from the rows themselves: O(analyses), for bounds the counters don't keep. */
static int durations_scan(store *s, const double *le, int n, int64_t *buckets, double *sum,
                          int64_t *count, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "SELECT finished - started FROM analyses WHERE state IN"
                        " ('SUCCESS', 'FAILURE') AND started IS NOT NULL AND finished IS NOT NULL",
                        &st, e);

    if (rc < 0)
        return rc;
    memset(buckets, 0, (size_t)n * sizeof(buckets[0]));
    *sum = 0;
    *count = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double d = sqlite3_column_double(st, 0);
        for (int i = 0; i < n; i++)
            if (d <= le[i])
                buckets[i]++;
        *sum += d;
        (*count)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "reading job durations");
}

int store_analysis_durations(store *s, const double *le, int n, int64_t *buckets, double *sum,
                             int64_t *count, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int found = 0, rc;

    if (n > STORE_JOB_BUCKETS)
        return durations_scan(s, le, n, buckets, sum, count, e);
    rc = store_stmt(s, -1, "SELECT le, n, secs FROM job_hist", &st, e);
    if (rc < 0)
        return rc;
    *sum = 0;
    *count = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        double b = sqlite3_column_double(st, 0);
        if (isinf(b)) {
            *count = sqlite3_column_int64(st, 1);
            *sum = sqlite3_column_double(st, 2);
        }
        for (int i = 0; i < n; i++) {
            if (le[i] == b) { /* the same constants: exact */
                buckets[i] = sqlite3_column_int64(st, 1);
                found |= 1 << i;
            }
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "reading job durations");
    if (found != (1 << n) - 1)
        return durations_scan(s, le, n, buckets, sum, count, e);
    return VAS_OK;
}

/* 1 if every "*_file" member of result names a file that exists. */
static int outputs_exist(store *s, const json_t *result, vas_err *e)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)result, k, v)
    {
        size_t n = strlen(k);
        if (n < 5 || strcmp(k + n - 5, "_file") != 0 || !json_is_string(v))
            continue;
        int rc = file_exists(s, json_string_value(v), e);
        if (rc != 1)
            return rc;
    }
    return 1;
}

int store_analysis_cached(store *s, const char *cache_key, json_t **result, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "SELECT result FROM analyses WHERE cache_key = ? AND state = 'SUCCESS'"
                        " ORDER BY seq DESC LIMIT 8",
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, cache_key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *r = json_loads(col_text(st, 0), 0, NULL);
        int ok = r ? outputs_exist(s, r, e) : 0;
        if (ok == 1) {
            sqlite3_finalize(st);
            *result = r;
            return VAS_OK;
        }
        json_decref(r);
        if (ok < 0) {
            sqlite3_finalize(st);
            return ok;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VAS_ENOTFOUND : store_db_err(s, e, "looking for a cached result");
}
