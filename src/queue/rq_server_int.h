/* rq_server_int.h - what rq_server.c and rq_server_events.c share. Not for other modules. */
#ifndef VAS_RQ_SERVER_INT_H
#define VAS_RQ_SERVER_INT_H

#include "queue/rq_redis.h"
#include "queue/rq_server.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define RQ_SERVER_MAX_CANCELS 1024 /* cancels waiting for the dispatcher */

/* One thread's own connections. */
typedef struct rq_server_thr {
    rq_redis *r; /* its Redis connection */
    store *st;   /* its catalog connection */
} rq_server_thr;

struct rq_server {
    const config *cfg;
    const char *url; /* borrowed */
    int grace_ms;    /* see rq_server_opts */
    int reap_ms;
    atomic_bool stop;     /* set by rq_server_stop; both threads and back-offs watch it */
    rq_server_thr disp;   /* the dispatcher thread's connections */
    rq_server_thr events; /* the event thread's connections */
    pthread_t disp_thread, events_thread;
    int n_threads;                           /* started so far, joined by rq_server_stop */
    pthread_mutex_t lock;                    /* guards the fields below; never held over I/O */
    pthread_cond_t cond;                     /* the dispatcher waits on it */
    int wake;                                /* a notify came */
    char cancels[RQ_SERVER_MAX_CANCELS][64]; /* analysis ids whose cancel key is still to be set */
    int n_cancels;
    char taken[RQ_SERVER_MAX_CANCELS]
              [64];      /* dispatcher only: the cancels it took, while it sets their keys */
    json_t *workers;     /* array: the live workers' advertisements, replaced each second */
    json_t *missing;     /* dispatcher only: worker name -> mono ms first seen missing */
    int reconnects_seen; /* dispatcher only: its connection's reconnects at the last reap */
    int64_t hold_until;  /* dispatcher only: no reaping before (mono ms; Redis came back) */
};

/* Opens a thread's Redis and catalog connections (rq_server_start). */
int rq_server_thr_open(rq_server *q, rq_server_thr *t, vas_err *e);
/* The event consumer thread's body (rq_server_events.c); arg is the rq_server. */
void *rq_server_events_main(void *arg);

#endif
