/* store_int.h - what the store module files share: the struct and statement cache. Not for other
 * modules. */
#ifndef VAS_STORE_INT_H
#define VAS_STORE_INT_H

#include "store/store.h"

#include <sqlite3.h>
#include <time.h>

enum {
    ST_FILE_FIND,
    ST_FILE_LIST,
    ST_FILES_GEN,
    ST_AN_FIND,
    ST_AN_LIST,
    ST_AN_PROGRESS,
    ST_AN_INPUTS,
    ST_RM_QUEUED, /* store_remote.c: the statements the queue runs per job */
    ST_RM_START,
    ST_RM_PROGRESS,
    ST_RM_END,
    ST_COUNT
};

struct store {
    sqlite3 *db;
    char *data;                   /* data folder */
    char *files_dir;              /* <data>/files */
    sqlite3_stmt *stmt[ST_COUNT]; /* prepared lazily, reset after each use */
    struct timespec busy_since;   /* when the current wait for a lock began (store_busy) */
};

/* Prepared statement from the cache (reset, bindings cleared), or a new one for sql. */
int store_stmt(store *s, int which, const char *sql, sqlite3_stmt **out, vas_err *e);
/* Runs the one-value query sql (statement `which` of the cache, or -1 for one of its own): 1 with
 * the first row's first column in *val, 0 if it gave no row, < 0 on errors (saying what). */
int store_int(store *s, int which, const char *sql, const char *what, int64_t *val, vas_err *e);
int store_exec(store *s, const char *sql, vas_err *e);
/* The database's last error as VAS_EBUSY (locked past the busy timeout), VAS_ENOSPC (disk full)
 * or VAS_EIO, with what was being done. */
int store_db_err(store *s, vas_err *e, const char *what);
/* 1 if errno value err means the file system is full (ENOSPC, EDQUOT). */
int store_full(int err);
/* Bounds of a prefix range query: lo = prefix (lowercased), hi = prefix + "g". */
int store_prefix_bounds(const char *prefix, size_t min, size_t max, int uuid, char *lo, char *hi,
                        const char *what, vas_err *e);

/* Deletes file id (full id) in its own transaction; check_use: refuse while an unfinished
 * analysis needs it (VAS_ECONFLICT). */
int store_file_delete_one(store *s, const char *id, int check_use, vas_err *e);

#endif
