/* store.c - opening the catalog, the blob writer, and the `files` table. See store.h. */
#include "store/store_int.h"

#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a statement waits for another connection's write lock before VAS_EBUSY (503). */
#define STORE_BUSY_MS 10000

/* user_version once the schema below is in place: a connection that reads it skips the schema,
 * whose INSERT would take the write lock (and wait for it while another process holds it). */
#define SCHEMA_MARK    1
#define SCHEMA_STR_(x) #x
#define SCHEMA_STR(x)  SCHEMA_STR_(x)

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES('schema', 1), ('files_gen', 0);"
    "CREATE TABLE IF NOT EXISTS files("
    "  id TEXT PRIMARY KEY, filename TEXT NOT NULL, content_type TEXT NOT NULL,"
    "  size INTEGER NOT NULL, created REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS files_created ON files(created);"
    "CREATE TRIGGER IF NOT EXISTS files_ins AFTER INSERT ON files BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'files_gen'; END;"
    "CREATE TRIGGER IF NOT EXISTS files_del AFTER DELETE ON files BEGIN"
    "  UPDATE meta SET value = value + 1 WHERE key = 'files_gen'; END;"
    "CREATE TABLE IF NOT EXISTS analyses("
    "  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, task_id TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL, model TEXT NOT NULL DEFAULT '', file_id TEXT NOT NULL,"
    "  file2_id TEXT, args TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL,"
    "  done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,"
    "  unit TEXT NOT NULL DEFAULT '', result TEXT, description TEXT,"
    "  created REAL NOT NULL, started REAL, finished REAL, worker_pid INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0, cache_key TEXT);"
    "CREATE INDEX IF NOT EXISTS analyses_cache ON analyses(cache_key, seq);"
    "CREATE INDEX IF NOT EXISTS analyses_state ON analyses(state, seq);"
    "CREATE TABLE IF NOT EXISTS analysis_inputs("
    "  analysis_seq INTEGER NOT NULL REFERENCES analyses(seq) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL, file_id TEXT NOT NULL, PRIMARY KEY(analysis_seq, idx));"
    "CREATE INDEX IF NOT EXISTS analysis_inputs_file ON analysis_inputs(file_id);"
    "PRAGMA user_version=" SCHEMA_STR(SCHEMA_MARK) ";";

int store_full(int err)
{
    return err == ENOSPC || err == EDQUOT;
}

/* VAS_EBUSY and VAS_ENOSPC for what a client can wait out or an operator must fix, with their
 * own sentence; anything else is VAS_EIO. */
static int db_code(int sqlite_rc, vas_err *e, const char *what, const char *msg)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return err_set(e, VAS_EBUSY,
                       "the database is busy (locked by another process for over %d s) while "
                       "%s; try again",
                       STORE_BUSY_MS / 1000, what);
    case SQLITE_FULL:
        return err_set(e, VAS_ENOSPC, "the disk is full: the database cannot grow while %s", what);
    default:
        return err_set(e, VAS_EIO, "database error while %s: %s", what, msg);
    }
}

/* The busy handler. SQLite's own (sqlite3_busy_timeout) sleeps 1, 2, 5, 10 ... 100 ms between
 * tries, while a writer holds the WAL's write lock for well under a millisecond: with the HTTP
 * threads, the queue and the workers all writing, waiters slept most of the time and the CPUs
 * idled (bench/queue). This one sleeps 50 us doubling to 1 ms, until STORE_BUSY_MS in all. */
static int busy_wait(void *arg, int tries)
{
    store *s = arg;
    struct timespec now, nap = {0, 0};

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (tries == 0)
        s->busy_since = now;
    int64_t waited_us = (int64_t)(now.tv_sec - s->busy_since.tv_sec) * 1000000 +
                        (now.tv_nsec - s->busy_since.tv_nsec) / 1000;
    if (waited_us >= (int64_t)STORE_BUSY_MS * 1000)
        return 0;
    nap.tv_nsec = (tries < 5 ? 50000L << tries : 1000000L);
    nanosleep(&nap, NULL);
    return 1;
}

int store_db_err(store *s, vas_err *e, const char *what)
{
    return db_code(sqlite3_extended_errcode(s->db), e, what, sqlite3_errmsg(s->db));
}

int store_exec(store *s, const char *sql, vas_err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        rc = db_code(rc, e, "writing", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return VAS_OK;
}

int store_stmt(store *s, int which, const char *sql, sqlite3_stmt **out, vas_err *e)
{
    if (which >= 0 && s->stmt[which]) {
        sqlite3_reset(s->stmt[which]);
        sqlite3_clear_bindings(s->stmt[which]);
        *out = s->stmt[which];
        return VAS_OK;
    }
    if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK)
        return store_db_err(s, e, "preparing a query");
    if (which >= 0)
        s->stmt[which] = *out;
    return VAS_OK;
}

int store_prefix_bounds(const char *prefix, size_t min, size_t max, int uuid, char *lo, char *hi,
                        const char *what, vas_err *e)
{
    size_t n = strlen(prefix);

    if (n < min || n > max)
        return err_set(e, VAS_EINVAL, "%s id must be %zu to %zu characters, got %zu", what, min,
                       max, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (!isxdigit(c) && !(uuid && c == '-'))
            return err_set(e, VAS_EINVAL, "%s id must be hexadecimal%s; '%c' is not allowed", what,
                           uuid ? " (and dashes)" : "", isprint(c) ? c : '?');
        lo[i] = (char)tolower(c);
    }
    lo[n] = '\0';
    memcpy(hi, lo, n);
    hi[n] = 'g'; /* greater than any hex digit or '-': [lo, hi) holds exactly the prefix's ids */
    hi[n + 1] = '\0';
    return VAS_OK;
}

int store_int(store *s, int which, const char *sql, const char *what, int64_t *val, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, which, sql, &st, e);

    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *val = sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_err(s, e, what);
    if (which >= 0)
        sqlite3_reset(st);
    else
        sqlite3_finalize(st);
    return rc;
}

/* 1 if the database carries SCHEMA_MARK (the schema is in place), 0 if not, < 0 on errors. */
static int schema_ready(store *s, vas_err *e)
{
    int64_t v = 0;
    int rc = store_int(s, -1, "PRAGMA user_version", "reading the schema version", &v, e);

    return rc < 0 ? rc : rc && v == SCHEMA_MARK;
}

int store_open(const char *db_path, const char *data_folder, store **out, vas_err *e)
{
    store *s = calloc(1, sizeof(*s));
    size_t n = strlen(data_folder) + 8;
    char *slash;
    int rc;

    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory opening the store");
    s->data = strdup(data_folder);
    s->files_dir = malloc(n);
    if (!s->data || !s->files_dir) {
        rc = err_set(e, VAS_ENOMEM, "out of memory opening the store");
        goto fail;
    }
    snprintf(s->files_dir, n, "%s/files", data_folder);
    if (util_mkdir_p(s->files_dir, 0755) < 0) {
        rc = err_sys(e, VAS_EIO, errno, "cannot create data folder %s", s->files_dir);
        goto fail;
    }
    slash = strrchr(db_path, '/');
    if (slash && slash != db_path) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - db_path), db_path);
        if (util_mkdir_p(dir, 0755) < 0) {
            rc = err_sys(e, VAS_EIO, errno, "cannot create database folder %s", dir);
            goto fail;
        }
    }
    if (sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = err_set(e, VAS_EIO, "cannot open database %s: %s", db_path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_handler(s->db, busy_wait, s);
    /* Opening writes nothing where everything is in place already (schema, the job counters, the
     * Redis columns): a connection opened while another process holds the write lock (a request
     * thread's first, say) then still reads instead of waiting STORE_BUSY_MS for a 503. */
    rc = schema_ready(s, e);
    if (rc == 0)
        rc = store_exec(s, schema, e);
    if (rc == VAS_OK)
        rc = store_job_stats_init(s, e); /* the counters GET /metrics reads */
    if (rc == VAS_OK)
        rc = store_remote_init(s, e); /* columns of the Redis queue, for older databases */
    if (rc < 0)
        goto fail;
    /* NORMAL in WAL mode: a commit survives a process crash; a power cut may lose the last
     * commits but never corrupts. Blobs are fsynced before their row is committed. */
    rc = store_exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", e);
    if (rc < 0)
        goto fail;
    *out = s;
    return VAS_OK;
fail:
    store_close(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->data);
    free(s->files_dir);
    free(s);
}

void store_file_path(store *s, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/%.2s/%s", s->files_dir, id, id);
}

/* ---- the files table ---- */

static void row_to_file(sqlite3_stmt *st, store_file *f)
{
    snprintf(f->id, sizeof(f->id), "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(f->filename, sizeof(f->filename), "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(f->content_type, sizeof(f->content_type), "%s",
             (const char *)sqlite3_column_text(st, 2));
    f->size = sqlite3_column_int64(st, 3);
    f->created = sqlite3_column_double(st, 4);
}

int store_file_find(store *s, const char *prefix, store_file *out, vas_err *e)
{
    char lo[STORE_ID_LEN + 2], hi[STORE_ID_LEN + 2];
    sqlite3_stmt *st = NULL;
    int rc, n = 0;

    rc = store_prefix_bounds(prefix, STORE_MIN_PREFIX, STORE_ID_LEN, 0, lo, hi, "file", e);
    if (rc < 0)
        return rc;
    rc = store_stmt(s, ST_FILE_FIND,
                    "SELECT id, filename, content_type, size, created FROM files"
                    " WHERE id >= ?1 AND id < ?2 LIMIT 2",
                    &st, e);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == 0)
            row_to_file(st, out);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "looking up a file");
    if (n == 0)
        return err_set(e, VAS_ENOTFOUND, "no file has an id starting with '%s'", lo);
    if (n > 1)
        return err_set(e, VAS_EAMBIG,
                       "more than one file has an id starting with '%s'; give more "
                       "characters",
                       lo);
    return VAS_OK;
}

int store_file_list(store *s, int64_t limit, int64_t offset, json_t **out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    char when[32];
    int rc;

    if (!arr)
        return err_set(e, VAS_ENOMEM, "out of memory listing files");
    rc = store_stmt(s, ST_FILE_LIST,
                    "SELECT id, filename, content_type, size, created FROM files"
                    " ORDER BY created DESC, id LIMIT ?1 OFFSET ?2",
                    &st, e);
    if (rc < 0)
        goto fail;
    sqlite3_bind_int64(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        util_iso8601(sqlite3_column_double(st, 4), when, sizeof(when));
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:I, s:s}", "file_id", sqlite3_column_text(st, 0),
                           "filename", sqlite3_column_text(st, 1), "content_type",
                           sqlite3_column_text(st, 2), "size",
                           (json_int_t)sqlite3_column_int64(st, 3), "created", when));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rc = store_db_err(s, e, "listing files");
        goto fail;
    }
    *out = arr;
    return VAS_OK;
fail:
    json_decref(arr);
    return rc;
}

int store_files_gen(store *s, int64_t *gen, vas_err *e)
{
    int rc = store_int(s, ST_FILES_GEN, "SELECT value FROM meta WHERE key = 'files_gen'",
                       "reading the files generation", gen, e);

    return rc < 0 ? rc : rc ? VAS_OK : store_db_err(s, e, "reading the files generation");
}

/* 1 if a PENDING/STARTED analysis needs file id. */
static int file_in_use(store *s, const char *id, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "SELECT 1 FROM analysis_inputs i JOIN analyses a ON a.seq = i.analysis_seq"
                        " WHERE i.file_id = ? AND a.state IN ('PENDING', 'STARTED') LIMIT 1",
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_db_err(s, e, "checking a file's use");
}

/* DESIGN: the blob is renamed aside (not unlinked) while the write lock is held, then unlinked
 * after COMMIT, or renamed back on ROLLBACK: a failed commit never leaves a row without its
 * blob, and a re-upload of the same bytes (which needs the lock) can't slip in between. */
static void aside_path(store *s, const char *id, char *out, size_t n)
{
    snprintf(out, n, "%s/%.2s/%s.deleting", s->files_dir, id, id);
}

static int delete_row_and_blob(store *s, const char *id, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    char path[4096], aside[4200];
    int rc = store_stmt(s, -1, "DELETE FROM files WHERE id = ?", &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "deleting a file");
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    store_file_path(s, id, path, sizeof(path));
    aside_path(s, id, aside, sizeof(aside));
    if (rename(path, aside) < 0 && errno != ENOENT)
        return err_sys(e, VAS_EIO, errno, "cannot delete %s", path);
    return VAS_OK;
}

int store_file_delete_one(store *s, const char *id, int check_use, vas_err *e)
{
    char path[4096], aside[4200];
    int rc = store_exec(s, "BEGIN IMMEDIATE", e);

    if (rc < 0)
        return rc;
    rc = check_use ? file_in_use(s, id, e) : 0;
    if (rc == 1)
        rc = err_set(e, VAS_ECONFLICT,
                     "file %s is needed by an analysis that has not finished; "
                     "cancel it or wait for it",
                     id);
    if (rc == VAS_OK)
        rc = delete_row_and_blob(s, id, e);
    if (rc == VAS_OK)
        rc = store_exec(s, "COMMIT", e);
    store_file_path(s, id, path, sizeof(path));
    aside_path(s, id, aside, sizeof(aside));
    if (rc < 0) {
        store_exec(s, "ROLLBACK", NULL);
        if (rename(aside, path) < 0 && errno != ENOENT)
            log_error("store", "event=restore_failed file_id=%s errno=%d", id, errno);
        return rc;
    }
    if (unlink(aside) < 0 && errno != ENOENT)
        log_warn("store", "event=unlink_failed file_id=%s errno=%d", id, errno);
    return VAS_OK;
}

int store_file_delete(store *s, const char *id, vas_err *e)
{
    store_file f;
    int rc = store_file_find(s, id, &f, e);

    if (rc < 0)
        return rc;
    return store_file_delete_one(s, f.id, 1, e);
}
