/* label_ring.c - see label_ring.h. */
#include "analyses/label_ring.h"

#include "core/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct label_ring {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* any change of count, done, stop or err */
    pthread_t th;
    int started;
    uint8_t *slots; /* depth x slot_bytes */
    size_t slot_bytes;
    int depth;
    int head, count; /* next slot to fill; slots queued */
    int done, stop;  /* no more commits; drop what is queued */
    int err;         /* fn's error, or VAS_OK */
    vas_err terr;
    label_ring_fn fn;
    void *ctx;
    char name[16];
    int64_t n_done, busy_ms;
};

static void *ring_main(void *arg)
{
    label_ring *r = arg;
    int tail = 0;

    pthread_setname_np(pthread_self(), r->name);
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->count == 0 && !r->done && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop || r->count == 0)
            break;
        pthread_mutex_unlock(&r->mu);
        int64_t t0 = util_mono_ms();
        vas_err e = {0};
        int rc = r->fn(r->ctx, r->slots + (size_t)tail * r->slot_bytes, &e);
        pthread_mutex_lock(&r->mu);
        r->busy_ms += util_mono_ms() - t0;
        if (rc < 0) {
            r->err = rc;
            r->terr = e;
            break;
        }
        r->n_done++;
        tail = (tail + 1) % r->depth;
        r->count--;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int label_ring_open(int depth, size_t slot_bytes, label_ring_fn fn, void *ctx, const char *name,
                    label_ring **out, vas_err *e)
{
    label_ring *r;
    pthread_condattr_t ca;

    if (depth < 1 || depth > LABEL_RING_MAX_DEPTH || slot_bytes == 0)
        return err_set(e, VAS_EINVAL, "bad ring of %d slots of %zu bytes", depth, slot_bytes);
    r = calloc(1, sizeof(*r));
    if (!r || !(r->slots = calloc((size_t)depth, slot_bytes))) {
        free(r);
        return err_set(e, VAS_ENOMEM, "out of memory for %d frames of %zu bytes", depth,
                       slot_bytes);
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* timed waits immune to clock changes */
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->depth = depth;
    r->slot_bytes = slot_bytes;
    r->fn = fn;
    r->ctx = ctx;
    snprintf(r->name, sizeof(r->name), "%s", name);
    if (pthread_create(&r->th, NULL, ring_main, r) != 0) {
        label_ring_free(r);
        return err_set(e, VAS_EIO, "could not start the %s thread", name);
    }
    r->started = 1;
    *out = r;
    return VAS_OK;
}

/* The absolute CLOCK_MONOTONIC time timeout_ms from now. */
static struct timespec deadline(int timeout_ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

int label_ring_slot(label_ring *r, int timeout_ms, void **slot, vas_err *e)
{
    struct timespec until = deadline(timeout_ms > 0 ? timeout_ms : 0);
    int timed_out = 0;

    pthread_mutex_lock(&r->mu);
    while (r->count == r->depth && !r->err && !timed_out) {
        if (timeout_ms < 0)
            pthread_cond_wait(&r->cv, &r->mu);
        else
            timed_out = pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT;
    }
    if (r->err) {
        pthread_mutex_unlock(&r->mu);
        return err_set(e, r->err, "%s", r->terr.msg);
    }
    if (r->count == r->depth) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    *slot = r->slots + (size_t)r->head * r->slot_bytes;
    pthread_mutex_unlock(&r->mu);
    return 1;
}

void label_ring_commit(label_ring *r)
{
    pthread_mutex_lock(&r->mu);
    r->head = (r->head + 1) % r->depth;
    r->count++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void join(label_ring *r, int stop)
{
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    r->stop |= stop;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->th, NULL);
    r->started = 0;
}

int label_ring_finish(label_ring *r, vas_err *e)
{
    join(r, 0);
    return r->err ? err_set(e, r->err, "%s", r->terr.msg) : VAS_OK;
}

void label_ring_stop(label_ring *r)
{
    join(r, 1);
}

void label_ring_stats(label_ring *r, int64_t *done, int64_t *busy_ms)
{
    pthread_mutex_lock(&r->mu);
    *done = r->n_done;
    *busy_ms = r->busy_ms;
    pthread_mutex_unlock(&r->mu);
}

void label_ring_free(label_ring *r)
{
    if (!r)
        return;
    join(r, 1);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->slots);
    free(r);
}
