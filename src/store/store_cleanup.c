/* store_cleanup.c - retention, as the old service's clean_up_files_days and
 * clean_up_analyses_days: old finished analyses go first (so their inputs are free), then old
 * files that no unfinished analysis needs. Each file goes in its own short transaction so the
 * server keeps answering while a large clean-up runs. */
#include "store/store_int.h"

#include "core/log.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static int delete_old_analyses(store *s, double days, int *n, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *n = 0;
    if (days <= 0)
        return VAS_OK;
    rc = store_stmt(s, -1,
                    "DELETE FROM analyses WHERE state IN ('SUCCESS', 'FAILURE', 'REVOKED')"
                    " AND created < ?",
                    &st, e);
    if (rc < 0)
        return rc;
    sqlite3_bind_double(st, 1, util_now() - days * 86400.0);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_db_err(s, e, "deleting old analyses");
    *n = sqlite3_changes(s->db);
    return VAS_OK;
}

/* Ids of old files no unfinished analysis needs, as a new NULL-terminated array. */
static int old_files(store *s, double days, char ***out, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    int rc = store_stmt(s, -1,
                        "SELECT id FROM files f WHERE created < ? AND NOT EXISTS (SELECT 1 FROM"
                        " analysis_inputs i JOIN analyses a ON a.seq = i.analysis_seq WHERE"
                        " i.file_id = f.id AND a.state IN ('PENDING', 'STARTED'))",
                        &st, e);

    if (rc < 0)
        return rc;
    sqlite3_bind_double(st, 1, util_now() - days * 86400.0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n + 1 >= cap) {
            char **nids = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof(*ids));
            if (!nids) {
                rc = SQLITE_NOMEM;
                break;
            }
            ids = nids;
        }
        ids[n] = strdup((const char *)sqlite3_column_text(st, 0));
        if (!ids[n]) {
            rc = SQLITE_NOMEM;
            break;
        }
        ids[++n] = NULL;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
        return store_db_err(s, e, "finding old files");
    }
    *out = ids;
    return VAS_OK;
}

int store_clean_up(store *s, double files_days, double analyses_days, int *n_files, int *n_analyses,
                   vas_err *e)
{
    char **ids = NULL;
    int rc;

    *n_files = 0;
    rc = delete_old_analyses(s, analyses_days, n_analyses, e);
    if (rc < 0 || files_days <= 0)
        return rc;
    rc = old_files(s, files_days, &ids, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; ids && ids[i]; i++) {
        vas_err e2 = {0};
        /* Checked again under the lock: an analysis may have claimed it since the query. */
        if (store_file_delete_one(s, ids[i], 1, &e2) == VAS_OK)
            (*n_files)++;
        else
            log_info("store", "event=clean_up_kept file_id=%s reason=\"%s\"", ids[i], e2.msg);
        free(ids[i]);
    }
    free(ids);
    return VAS_OK;
}
