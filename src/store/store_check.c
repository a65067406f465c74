/* store_check.c - the catalog checked against the data folder (`vas check`), and the repair of
 * what a killed process leaves behind (at `vas serve` start-up).
 *
 * DESIGN: both hold SQLite's write lock (BEGIN IMMEDIATE) while they look. Every blob link and
 * unlink happens under that lock (store.h), so no upload or delete is half-way while the lock is
 * held: what is seen is a state a crash could leave, never a transient one. A crash can leave:
 *   1. a blob without its row: killed between link_blob and COMMIT (store_writer.c);
 *   2. "<id>.deleting": killed between the rename aside and the unlink (store.c); the row is
 *      still there when the delete did not commit, so the blob goes back, else it goes;
 *   3. <data>/tmp/<analysis id>: a job's temp folder (job_tmp_dir) whose worker died;
 *   4. STARTED analyses whose worker died (store_analysis_recover requeues them).
 * An upload cut off before its link leaves nothing: its bytes are an O_TMPFILE. */
#include "store/store_int.h"

#include "core/log.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHK_ID_CAP ((size_t)1 << 26) /* 64 Mi rows: 2.7 GB of ids, a sane ceiling */

typedef struct chk {
    store *s;
    int repair; /* 1: fix what can be fixed instead of reporting it */
    store_check_report report;
    void *arg;
    store_check_counts n;
    int repaired;
    char (*ids)[STORE_ID_LEN + 1]; /* the files table's ids, sorted */
    size_t n_ids, cap_ids;
    char (*running)[STORE_UUID_LEN + 1]; /* analyses STARTED by a live worker */
    size_t n_running, cap_running;
} chk;

static void problem(chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(chk *c, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->n.problems++;
    if (c->report)
        c->report(c->arg, line);
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int has_row(const chk *c, const char *id)
{
    return c->n_ids && bsearch(id, c->ids, c->n_ids, sizeof(c->ids[0]), id_cmp) != NULL;
}

/* ---- the files table against the blob folder ---- */

static int push_id(chk *c, const char *id, vas_err *e)
{
    if (c->n_ids == c->cap_ids) {
        size_t cap = c->cap_ids ? 2 * c->cap_ids : 1024;
        void *p = cap <= CHK_ID_CAP ? realloc(c->ids, cap * sizeof(c->ids[0])) : NULL;
        if (!p)
            return err_set(e, VAS_ENOMEM, "out of memory listing the files table");
        c->ids = p;
        c->cap_ids = cap;
    }
    snprintf(c->ids[c->n_ids++], STORE_ID_LEN + 1, "%s", id);
    return VAS_OK;
}

/* Reads every row (ORDER BY id: sorted for bsearch) and checks its blob is there, whole. */
static int check_rows(chk *c, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    char path[4096];
    struct stat sb;
    int rc = store_stmt(c->s, -1, "SELECT id, size FROM files ORDER BY id", &st, e);

    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        int64_t size = sqlite3_column_int64(st, 1);
        if (!id || push_id(c, id, e) < 0)
            break;
        c->n.files++;
        store_file_path(c->s, id, path, sizeof(path));
        if (stat(path, &sb) < 0)
            problem(c, "file %s has a row but no blob (%s)", id, path);
        else if (sb.st_size != size)
            problem(c, "file %s: its row says %lld bytes, its blob has %lld", id, (long long)size,
                    (long long)sb.st_size);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_db_err(c->s, e, "reading the files table");
    return rc == SQLITE_ROW ? VAS_ENOMEM : VAS_OK;
}

/* "<id>.deleting" left by a delete cut off: back under its id while its row is there. */
static void aside_entry(chk *c, const char *dir, const char *name)
{
    char path[4400], id[STORE_ID_LEN + 1], blob[4096];

    snprintf(id, sizeof(id), "%.*s", STORE_ID_LEN, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!c->repair) {
        problem(c, "leftover %s (a delete was cut off)", path);
        return;
    }
    store_file_path(c->s, id, blob, sizeof(blob));
    if ((has_row(c, id) ? rename(path, blob) : unlink(path)) < 0)
        log_warn("store", "event=repair_failed path=%s errno=%d", path, errno);
    else
        c->repaired++;
    log_info("store", "event=repaired what=deleting file_id=%s row=%d", id, has_row(c, id));
}

static void blob_entry(chk *c, const char *dir, const char *sub, const char *name)
{
    char path[4400];
    size_t n = strlen(name);

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n == STORE_ID_LEN && util_is_hex(name, n) && !strncmp(name, sub, 2)) {
        c->n.blobs++;
        if (has_row(c, name))
            return;
        if (!c->repair)
            problem(c, "blob %s has no row (an upload or output cut off before its commit)", path);
        else if (unlink(path) == 0) {
            c->repaired++;
            log_info("store", "event=repaired what=blob_without_row file_id=%s", name);
        }
    } else if (n == STORE_ID_LEN + 9 && !strcmp(name + STORE_ID_LEN, ".deleting"))
        aside_entry(c, dir, name);
    else if (!c->repair)
        problem(c, "unexpected file %s in the blob folder", path);
}

static int walk_sub(chk *c, const char *sub)
{
    char dir[4096];
    struct dirent *d;
    DIR *dp;

    snprintf(dir, sizeof(dir), "%s/%s", c->s->files_dir, sub);
    dp = opendir(dir);
    if (!dp) {
        char why[128];
        problem(c, "cannot read %s: %s", dir, strerror_r(errno, why, sizeof(why)));
        return VAS_OK;
    }
    while ((d = readdir(dp))) /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            blob_entry(c, dir, sub, d->d_name);
    closedir(dp);
    return VAS_OK;
}

static int walk_blobs(chk *c, vas_err *e)
{
    DIR *dp = opendir(c->s->files_dir);
    struct dirent *d;

    if (!dp)
        return err_sys(e, VAS_EIO, errno, "cannot read the blob folder %s", c->s->files_dir);
    while ((d = readdir(dp))) { /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        const char *n = d->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (strlen(n) == 2 && util_is_hex(n, 2))
            walk_sub(c, n);
        else if (!c->repair)
            problem(c, "unexpected entry %s/%s in the blob folder", c->s->files_dir, n);
    }
    closedir(dp);
    return VAS_OK;
}

/* ---- analyses ---- */

static int pid_alive(int pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static int push_running(chk *c, const char *id, vas_err *e)
{
    if (c->n_running == c->cap_running) {
        size_t cap = c->cap_running ? 2 * c->cap_running : 16;
        void *p = realloc(c->running, cap * sizeof(c->running[0]));
        if (!p)
            return err_set(e, VAS_ENOMEM, "out of memory checking analyses");
        c->running = p;
        c->cap_running = cap;
    }
    snprintf(c->running[c->n_running++], STORE_UUID_LEN + 1, "%s", id);
    return VAS_OK;
}

/* An output of a SUCCESS analysis: a string of STORE_ID_LEN hex digits in its result. */
static void check_output(chk *c, const char *an, const char *key, const json_t *v)
{
    const char *s = json_string_value(v);

    if (s && strlen(s) == STORE_ID_LEN && util_is_hex(s, STORE_ID_LEN) && !has_row(c, s))
        problem(c, "analysis %s (SUCCESS): its output %s (%s) is missing", an, s, key);
}

static void check_outputs(chk *c, const char *an, const char *result)
{
    json_t *r = json_loads(result ? result : "{}", 0, NULL), *v, *item;
    const char *k;
    size_t i;

    if (!json_is_object(r)) {
        problem(c, "analysis %s (SUCCESS): its result is not a JSON object", an);
        json_decref(r);
        return;
    }
    json_object_foreach(r, k, v)
    {
        check_output(c, an, k, v);
        json_array_foreach(v, i, item) check_output(c, an, k, item);
    }
    json_decref(r);
}

static int check_analyses(chk *c, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(c->s, -1,
                        "SELECT id, state, worker_pid, result,"
                        " ifnull(worker, 'embedded') != 'embedded' FROM analyses",
                        &st, e);

    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *state = (const char *)sqlite3_column_text(st, 1);
        int pid = sqlite3_column_int(st, 2);
        c->n.analyses++;
        if (!id || !state)
            continue;
        /* A remote worker's job (Redis queue) is watched by rq_server's reaper, not here. */
        if (!strcmp(state, "STARTED") && !sqlite3_column_int(st, 4) && !pid_alive(pid))
            problem(c, "analysis %s is STARTED but its worker (pid %d) is gone", id, pid);
        else if (!strcmp(state, "STARTED") && push_running(c, id, e) < 0)
            break;
        else if (!strcmp(state, "SUCCESS"))
            check_outputs(c, id, (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return VAS_ENOMEM;
    return rc == SQLITE_DONE ? VAS_OK : store_db_err(c->s, e, "reading the analyses");
}

/* Inputs of PENDING/STARTED analyses must exist (store_file_delete refuses them). */
static int check_inputs(chk *c, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(c->s, -1,
                        "SELECT a.id, i.file_id FROM analysis_inputs i JOIN analyses a"
                        " ON a.seq = i.analysis_seq WHERE a.state IN ('PENDING', 'STARTED')"
                        " AND NOT EXISTS (SELECT 1 FROM files f WHERE f.id = i.file_id)",
                        &st, e);

    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        problem(c, "analysis %s has not finished but its input %s is missing",
                sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VAS_OK : store_db_err(c->s, e, "reading analysis inputs");
}

/* ---- temp folders ---- */

static int is_running(const chk *c, const char *id)
{
    for (size_t i = 0; i < c->n_running; i++)
        if (!strcmp(c->running[i], id))
            return 1;
    return 0;
}

/* <data>/tmp/<analysis id>: only a running job may have one. */
static void check_tmp(chk *c)
{
    char dir[4096], path[4400];
    struct dirent *d;
    DIR *dp;

    snprintf(dir, sizeof(dir), "%s/tmp", c->s->data);
    dp = opendir(dir);
    if (!dp)
        return;                 /* none yet */
    while ((d = readdir(dp))) { /* NOLINT(concurrency-mt-unsafe): this DIR is ours */
        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..") || is_running(c, d->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
        if (!c->repair) {
            problem(c, "leftover temp folder %s (no running job owns it)", path);
            continue;
        }
        if (util_rm_tree(path) == 0)
            c->repaired++;
        log_info("store", "event=repaired what=temp_folder path=%s", path);
    }
    closedir(dp);
}

/* SQLite's own structural check of the database file (indexes, pages), first lines of it. */
static int check_db(chk *c, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(c->s, -1, "PRAGMA quick_check(20)", &st, e);

    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0)
            problem(c, "the database is damaged: %s", t);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? VAS_OK : store_db_err(c->s, e, "checking the database file");
}

/* ---- the two entry points ---- */

static int run(chk *c, vas_err *e)
{
    int rc = store_exec(c->s, "BEGIN IMMEDIATE", e);

    if (rc < 0)
        return rc;
    rc = c->repair ? VAS_OK : check_db(c, e);
    if (rc == VAS_OK)
        rc = check_rows(c, e);
    if (rc == VAS_OK)
        rc = walk_blobs(c, e);
    if (rc == VAS_OK)
        rc = check_analyses(c, e);
    if (rc == VAS_OK && !c->repair)
        rc = check_inputs(c, e);
    if (rc == VAS_OK)
        check_tmp(c);
    store_exec(c->s, rc == VAS_OK ? "COMMIT" : "ROLLBACK", NULL);
    if (rc == VAS_ENOMEM && e && e->code != VAS_ENOMEM)
        err_set(e, VAS_ENOMEM, "out of memory checking the store");
    free(c->ids);
    free(c->running);
    return rc;
}

int store_check_run(store *s, store_check_report report, void *arg, store_check_counts *out,
                    vas_err *e)
{
    chk c = {.s = s, .report = report, .arg = arg};
    int rc = run(&c, e);

    if (out)
        *out = c.n;
    return rc;
}

int store_check_repair(store *s, int *repaired, vas_err *e)
{
    chk c = {.s = s, .repair = 1};
    int rc = run(&c, e);

    *repaired = c.repaired;
    return rc;
}

int store_analysis_requeue_worker(store *s, int worker_pid, int *n, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1,
                        "UPDATE analyses SET state = 'PENDING', worker_pid = NULL, done = 0"
                        " WHERE state = 'STARTED' AND worker_pid = ?",
                        &st, e);

    *n = 0;
    if (rc < 0)
        return rc;
    sqlite3_bind_int(st, 1, worker_pid);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "requeueing a stopped worker's job");
    *n = sqlite3_changes(s->db);
    return VAS_OK;
}
