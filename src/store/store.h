/* store.h - the catalog (one SQLite file, WAL) and the content-addressed blob folder.
 * Owns: tables `files`, `analyses`, `analysis_inputs`, `meta`; blobs in <data>/files/ab/<sha1>.
 * Not: running jobs (queue/), HTTP (http/).
 *
 * DESIGN: a blob is streamed to an O_TMPFILE in the blob folder while SHA-1 is computed, fsynced,
 * then linked under its id inside a BEGIN IMMEDIATE transaction that also inserts the row. File
 * deletion unlinks inside the same kind of transaction. SQLite's write lock thus serialises every
 * link/unlink against every row change, across threads and worker processes, so a row never
 * outlives or predates its blob, and a cut-off upload leaves nothing (the O_TMPFILE vanishes).
 *
 * Threads: a store (one sqlite3 connection) is used by one thread at a time; open one per thread
 * or pool them (http/). Worker processes open their own. */
#ifndef VAS_STORE_H
#define VAS_STORE_H

#include "core/err.h"

#include <jansson.h>
#include <stdint.h>

#define STORE_ID_LEN     40 /* hex SHA-1 */
#define STORE_UUID_LEN   36
#define STORE_MIN_PREFIX 4

typedef struct store store;
typedef struct store_writer store_writer;

/* Opens (creating if absent) the database and the data folder. New store in *out (caller frees:
 * store_close). Borrows both paths. */
int store_open(const char *db_path, const char *data_folder, store **out, vas_err *e);
void store_close(store *s);

/* ---- files ---- */
typedef struct store_file {
    char id[STORE_ID_LEN + 1];
    char filename[256];
    char content_type[128];
    int64_t size;
    double created;
} store_file;

/* A safe file name from what a client sent (as store_writer_commit keeps it): the part after
 * the last '/' or '\\', without control characters (< 0x20, 0x7f) and with '"' as '\'', UTF-8
 * kept, cut to fit out[n] (n >= 16) at a character boundary; "", "." and ".." become "file". */
void store_safe_filename(const char *in, char *out, size_t n);

/* Streaming upload. The writer is new (caller ends it with commit or abort). Bytes over max
 * make store_writer_write fail with VAS_ETOOBIG (max <= 0: no limit). */
int store_writer_new(store *s, int64_t max, store_writer **out, vas_err *e);
int store_writer_write(store_writer *w, const void *p, size_t n, vas_err *e);
/* Makes the bytes a file (or finds the same bytes already there) and frees w, also on error.
 * filename/content_type are borrowed; they are kept only for a new file, the name made safe
 * (store_safe_filename). */
int store_writer_commit(store_writer *w, const char *filename, const char *content_type,
                        store_file *out, vas_err *e);
/* Discards the bytes and frees w. NULL is a no-op. */
void store_writer_abort(store_writer *w);
int64_t store_writer_size(const store_writer *w);
/* Whole-buffer convenience over the writer. */
int store_put_bytes(store *s, const void *p, size_t n, const char *filename,
                    const char *content_type, store_file *out, vas_err *e);

/* Adds the local file at path without copying it (vas analyze's store of one run, never the
 * server's catalog): its SHA-1 is computed, its blob is a symbolic link to path's absolute form,
 * its row is named filename. The file must stay while the store is used. */
int store_file_adopt(store *s, const char *path, const char *filename, store_file *out, vas_err *e);

/* Finds a file by id or hex prefix (>= 4 chars): VAS_EINVAL not hex/too short,
 * VAS_ENOTFOUND, VAS_EAMBIG. */
int store_file_find(store *s, const char *prefix, store_file *out, vas_err *e);
/* Path of a blob into out[n]. */
void store_file_path(store *s, const char *id, char *out, size_t n);
/* New JSON array (caller json_decref) of files, newest first. limit < 0: all. */
int store_file_list(store *s, int64_t limit, int64_t offset, json_t **out, vas_err *e);
/* Deletes row and blob; VAS_ECONFLICT while a PENDING/STARTED analysis uses it. */
int store_file_delete(store *s, const char *id, vas_err *e);
/* The files table as a cache (store_cache.c; a Redis worker's inputs): touch moves a file's
 * `created` to now (it was used again); bytes is the sum of the sizes; oldest is a new JSON array
 * of [id, size], least recently used first, at most max. */
int store_cache_touch(store *s, const char *id, vas_err *e);
int store_cache_bytes(store *s, int64_t *bytes, vas_err *e);
int store_cache_oldest(store *s, int max, json_t **out, vas_err *e);
/* Counter bumped on every insert/delete of a file, by any process: lets callers cache lists. */
int store_files_gen(store *s, int64_t *gen, vas_err *e);

/* ---- analyses ---- */
#define STORE_MAX_INPUTS 16

typedef struct store_analysis {
    char id[STORE_UUID_LEN + 1];
    char task_id[STORE_UUID_LEN + 1];
    char name[32];
    char model[128];                                 /* "" when none */
    char inputs[STORE_MAX_INPUTS][STORE_ID_LEN + 1]; /* inputs[0] = file_id, [1] = file2_id... */
    int n_inputs;
    char state[12]; /* PENDING STARTED SUCCESS FAILURE REVOKED */
    int64_t done, total;
    char unit[16];     /* of progress; set by the caller of store_analysis_insert */
    json_t *args;      /* owned: object of the analysis's arguments */
    json_t *result;    /* owned: object on SUCCESS, else NULL */
    char *description; /* owned: on FAILURE, else NULL */
    double created, started, finished;
    int worker_pid;
    int attempts;
    char cache_key[STORE_ID_LEN + 1]; /* "" or the key of identical work (analyses/ makes it) */
    char worker[128];                 /* "" (not yet run), "embedded" or a remote worker's name */
    char queue_entry[320];            /* "" or "<stream>:<entry id>" of its Redis job entry */
} store_analysis;

/* Frees the owned members (not a itself). */
void store_analysis_clear(store_analysis *a);
/* Inserts a PENDING analysis, or a SUCCESS one when a->result is set (a cached result); fills
 * a->id, a->task_id, a->created. Checks every input file exists in the same transaction
 * (VAS_ENOTFOUND names it). Borrows a. */
int store_analysis_insert(store *s, store_analysis *a, vas_err *e);
/* The result of the newest SUCCESS analysis with cache_key whose output files all still
 * exist, as a new object in *result (caller json_decref's); VAS_ENOTFOUND when none. */
int store_analysis_cached(store *s, const char *cache_key, json_t **result, vas_err *e);
/* By analysis_id or task_id, or a prefix (>= 4 chars) of either. Fills *out (clear it). */
int store_analysis_find(store *s, const char *prefix, store_analysis *out, vas_err *e);
/* New JSON array, newest first, of list rows (api.md's keys). limit < 0: all. */
int store_analysis_list(store *s, int64_t limit, int64_t offset, json_t **out, vas_err *e);
/* PENDING/STARTED -> REVOKED. VAS_ECONFLICT when already finished. */
int store_analysis_cancel(store *s, const char *id, vas_err *e);
/* Oldest PENDING -> STARTED by worker pid; VAS_ENOTFOUND when the queue is empty. */
int store_analysis_claim(store *s, int worker_pid, store_analysis *out, vas_err *e);
/* Writes progress of a STARTED job. *state_out (optional, 12 bytes) gets the current state, so a
 * worker learns of a cancel in the same round trip. */
int store_analysis_progress(store *s, const char *id, int64_t done, int64_t total, const char *unit,
                            char *state_out, vas_err *e);
/* STARTED -> SUCCESS with result (borrowed), or -> FAILURE with description. A job already
 * REVOKED stays REVOKED (VAS_ECANCELLED). */
int store_analysis_succeed(store *s, const char *id, json_t *result, vas_err *e);
int store_analysis_fail(store *s, const char *id, const char *description, vas_err *e);
/* A worker process died: its STARTED jobs -> FAILURE with description. n = how many. */
int store_analysis_fail_worker(store *s, int worker_pid, const char *description, int *n,
                               vas_err *e);
/* At start-up: every STARTED job (its worker died with the old server) goes back to PENDING
 * once; a job that was already retried becomes FAILURE. */
int store_analysis_recover(store *s, int *requeued, int *failed, vas_err *e);
/* Counts by state into counts[5] (PENDING STARTED SUCCESS FAILURE REVOKED order), from counters
 * kept by triggers: O(1) in the number of analyses. */
int store_analysis_counts(store *s, int64_t counts[5], vas_err *e);
/* The duration buckets the counters keep (seconds, ascending). */
#define STORE_JOB_BUCKETS 12
extern const double store_job_buckets[STORE_JOB_BUCKETS];
/* Durations (finished - started) of SUCCESS/FAILURE jobs bucketed by upper bounds le[n]
 * (cumulative, Prometheus style); sum and count too. O(1) when le is store_job_buckets or a subset
 * of it; other bounds scan every finished analysis. */
int store_analysis_durations(store *s, const double *le, int n, int64_t *buckets, double *sum,
                             int64_t *count, vas_err *e);
/* Creates the counters behind the two calls above, once per database (store_open calls it). */
int store_job_stats_init(store *s, vas_err *e);

/* ---- crash consistency (store_check.c) ---- */
typedef struct store_check_counts {
    int64_t files;    /* rows of the files table */
    int64_t blobs;    /* blobs in <data>/files */
    int64_t analyses; /* rows of the analyses table */
    int64_t problems; /* lines reported */
} store_check_counts;
/* Gets one problem as one line for a person (no newline; borrowed during the call). */
typedef void (*store_check_report)(void *arg, const char *line);
/* `vas check`: the catalog against the data folder, under the write lock (so no link or unlink
 * is half-way): every file row has its blob, of its size; every blob has its row; no leftover
 * ("<id>.deleting", a temp folder no running job owns, anything else in the blob folder); no
 * STARTED analysis whose worker is gone; every input of an unfinished analysis and every output
 * of a SUCCESS one exists; SQLite's quick_check of the file. Safe with the server stopped or
 * running. Counts into *out (optional);
 * VAS_OK also when problems were found (out->problems says how many). */
int store_check_run(store *s, store_check_report report, void *arg, store_check_counts *out,
                    vas_err *e);
/* At start-up, before any worker or HTTP thread: removes what killed processes left (blobs
 * without a row, temp folders, "<id>.deleting", put back when its row is still there). How many
 * things it fixed into *repaired. Run store_analysis_recover first: it frees STARTED jobs. */
int store_check_repair(store *s, int *repaired, vas_err *e);
/* A worker stopped on purpose (server shutdown): its STARTED jobs -> PENDING, to run again at
 * the next start. n = how many. */
int store_analysis_requeue_worker(store *s, int worker_pid, int *n, vas_err *e);

/* ---- jobs through Redis (store_remote.c; rq_server's threads, docs/redis-queue.md) ----
 * Each transition names the state it leaves and the worker it expects: applying an event twice,
 * or one that arrives late, changes nothing (*changed = 0). */
/* Adds the columns `worker`, `queue_entry` to an older database (store_open calls it). */
int store_remote_init(store *s, vas_err *e);
/* Several of the calls below in one write transaction (one lock, one commit): begin, then end
 * with ok = 1 (COMMIT) or 0 (ROLLBACK, always VAS_OK). */
int store_remote_begin(store *s, vas_err *e);
int store_remote_end_batch(store *s, int ok, vas_err *e);
/* PENDING analyses, oldest first, at most max (only_new: those without a queue entry): a new
 * JSON array of [id, has_entry]. */
int store_remote_pending(store *s, int max, int only_new, json_t **out, vas_err *e);
/* A PENDING analysis was queued as entry ("<stream>:<entry id>"). */
int store_remote_queued(store *s, const char *id, const char *entry, vas_err *e);
/* PENDING -> STARTED by worker for entry (the row's queue_entry, if set, must be entry);
 * attempts + 1. */
int store_remote_start(store *s, const char *id, const char *worker, const char *entry,
                       int *changed, vas_err *e);
/* Progress of a STARTED job of worker (unit NULL: kept). */
int store_remote_progress(store *s, const char *id, const char *worker, int64_t done, int64_t total,
                          const char *unit, vas_err *e);
/* STARTED by worker -> SUCCESS with result (borrowed), or -> FAILURE with description when
 * result is NULL. */
int store_remote_end(store *s, const char *id, const char *worker, const json_t *result,
                     const char *description, int *changed, vas_err *e);
/* STARTED jobs of remote workers: a new JSON array of {"id", "worker", "entry", "attempts"}. */
int store_remote_running(store *s, json_t **out, vas_err *e);
/* worker died during job id (STARTED by it): -> FAILURE "worker W stopped answering during the
 * job; tried N times" once attempts >= max_attempts (*outcome 2), else -> PENDING with no
 * entry, to be queued again (*outcome 1); 0: the row had moved on. */
int store_remote_requeue(store *s, const char *id, const char *worker, int max_attempts,
                         int *outcome, vas_err *e);

/* ---- retention ---- */
/* Deletes finished analyses older than analyses_days and files older than files_days that no
 * PENDING/STARTED analysis needs (<= 0: keep). Counts into *n_analyses, *n_files. */
int store_clean_up(store *s, double files_days, double analyses_days, int *n_files, int *n_analyses,
                   vas_err *e);

extern const char *const store_states[5];

#endif
