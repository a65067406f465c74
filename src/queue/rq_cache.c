/* rq_cache.c - the Redis worker's input cache: holds and eviction. See rq_cache.h. */
#include "queue/rq_cache.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Files looked at per round of eviction: more than all slots can hold, so a round that frees
 * nothing means everything left is held. */
#define TRIM_BATCH (RQ_WORKER_MAX_SLOTS * STORE_MAX_INPUTS + 64)

/* Opens and locks <data>/cache.lock (LOCK_SH or LOCK_EX); the fd, or < 0 with *e set. */
static int lock_cache(const rq_worker_ctx *c, int how, vas_err *e)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/cache.lock", c->cfg->data_folder);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_sys(e, VAS_EIO, errno, "cannot open the cache's lock %s", path);
    while (flock(fd, how) < 0) {
        if (errno != EINTR) {
            int rc = err_sys(e, VAS_EIO, errno, "cannot lock the cache (%s)", path);
            close(fd);
            return rc;
        }
    }
    return fd;
}

int rq_cache_hold(const rq_worker_ctx *c, rq_slot_state *sl, const store_analysis *a, vas_err *e)
{
    int fd = lock_cache(c, LOCK_SH, e);

    if (fd < 0)
        return fd;
    for (int i = 0; i < a->n_inputs; i++)
        snprintf(sl->inputs[i], sizeof(sl->inputs[i]), "%s", a->inputs[i]);
    sl->n_inputs = a->n_inputs;
    close(fd); /* unlocks */
    return VAS_OK;
}

void rq_cache_release(const rq_worker_ctx *c, rq_slot_state *sl)
{
    (void)c;
    sl->n_inputs = 0; /* only fewer holds: no lock needed */
}

static int held(const rq_worker_ctx *c, const char *id)
{
    for (int s = 0; c->slots && s < c->concurrency; s++)
        for (int i = 0; i < c->slots[s].n_inputs; i++)
            if (strcmp(c->slots[s].inputs[i], id) == 0)
                return 1;
    return 0;
}

int rq_cache_trim(const rq_worker_ctx *c, store *st, vas_err *e)
{
    int64_t lim = c->cfg->lim.worker_cache, bytes = 0, freed = 0;
    json_t *old = NULL, *v;
    size_t i;
    int fd, rc, n = 0, progress = 1;

    if (lim <= 0)
        return VAS_OK;
    rc = store_cache_bytes(st, &bytes, e);
    if (rc < 0 || bytes <= lim)
        return rc;
    fd = lock_cache(c, LOCK_EX, e);
    if (fd < 0)
        return fd;
    rc = store_cache_bytes(st, &bytes, e); /* another slot may have trimmed meanwhile */
    while (rc == VAS_OK && bytes > lim && progress) {
        progress = 0;
        rc = store_cache_oldest(st, TRIM_BATCH, &old, e);
        json_array_foreach(old, i, v)
        {
            const char *id = json_string_value(json_array_get(v, 0));
            if (rc < 0 || bytes <= lim)
                break;
            if (held(c, id))
                continue;
            rc = store_file_delete(st, id, e);
            if (rc == VAS_ENOTFOUND) /* deleted by someone else: fine */
                rc = VAS_OK;
            if (rc < 0)
                break;
            bytes -= json_integer_value(json_array_get(v, 1));
            freed += json_integer_value(json_array_get(v, 1));
            n++;
            progress = 1;
        }
        json_decref(old);
        old = NULL;
        if (rc == VAS_OK)
            rc = store_cache_bytes(st, &bytes, e);
    }
    close(fd);
    if (n)
        log_info("rq", "event=cache_evicted files=%d bytes=%lld left=%lld limit=%lld", n,
                 (long long)freed, (long long)bytes, (long long)lim);
    return rc;
}
