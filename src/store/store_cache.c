/* store_cache.c - the files table used as a cache (a `vas worker --redis` keeps the inputs it
 * fetched in its own store): a file's `created` is moved to now each time it is used again, so
 * oldest `created` first is least recently used first; the bytes held; the eviction order.
 * Deleting is store_file_delete_one. Threads: like every store call, one thread per store. */
#include "store/store_int.h"

#include "core/util.h"

int store_cache_touch(store *s, const char *id, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc = store_stmt(s, -1, "UPDATE files SET created = ?2 WHERE id = ?1", &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, util_now());
    rc =
        sqlite3_step(st) == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "marking a cached file used");
    sqlite3_finalize(st);
    return rc;
}

int store_cache_bytes(store *s, int64_t *bytes, vas_err *e)
{
    int rc = store_int(s, -1, "SELECT ifnull(sum(size), 0) FROM files",
                       "adding up the cache's size", bytes, e);

    return rc < 0 ? rc : rc ? VAS_OK : store_db_err(s, e, "adding up the cache's size");
}

int store_cache_oldest(store *s, int max, json_t **out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc =
        arr ? store_stmt(s, -1, "SELECT id, size FROM files ORDER BY created, id LIMIT ?1", &st, e)
            : err_set(e, VAS_ENOMEM, "out of memory");

    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    sqlite3_bind_int(st, 1, max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("[s, I]", sqlite3_column_text(st, 0),
                                             (json_int_t)sqlite3_column_int64(st, 1)));
    rc = rc == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "listing the cache");
    sqlite3_finalize(st);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return VAS_OK;
}
