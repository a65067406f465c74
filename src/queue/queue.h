/* queue.h - the embedded job queue: worker processes supervised by `vas serve`, woken through a
 * pipe, claiming jobs from the catalog (store_analysis_claim).
 * Owns: worker processes (spawn, reap, restart), the wake-up pipe, the failing of a dead worker's
 * job. Not: the catalog's transitions (store/), analyses (analyses/).
 * Threads: supervisor_start/stop on the main thread; supervisor_notify from any thread; one
 * supervisor thread watches the workers. With a Redis queue (cfg->broker_url redis://) the
 * workers it keeps are `vas worker --redis` processes (rq_worker.h) on this machine. */
#ifndef VAS_QUEUE_H
#define VAS_QUEUE_H

#include "analyses/analysis.h"
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

typedef struct supervisor supervisor;

/* Starts cfg->workers worker processes running `exe worker --embedded ...`. Borrows cfg and exe
 * for the supervisor's life. New supervisor in *out (caller frees: supervisor_stop). */
int supervisor_start(const config *cfg, const char *exe, supervisor **out, vas_err *e);
/* The HTTP port the server listens on, once known. With a Redis queue the local workers are
 * `vas worker --redis ... --server http://127.0.0.1:<port>` and start only after this call; the
 * embedded workers don't need it. NULL s is a no-op. Threads: main. */
void supervisor_serve(supervisor *s, int port);
/* Wakes one idle worker: a job was queued. Never blocks. arg is the supervisor. */
void supervisor_notify(void *arg);
/* Stops the workers (SIGTERM, then SIGKILL after a grace period). Jobs they were running go back
 * to PENDING and run again at the next start (a server killed with SIGKILL leaves them STARTED:
 * store_analysis_recover requeues them then). NULL is a no-op. */
void supervisor_stop(supervisor *s);

/* Body of `vas worker --embedded`: claims and runs jobs until killed or the parent dies.
 * notify_fd: read end of the wake-up pipe (-1: poll the catalog every second). */
int worker_main(const config *cfg, int notify_fd, int parent_pid, vas_err *e);
/* Runs one claimed analysis to its end state (used by worker_main). */
void worker_run_job(store *st, const analysis_env *env, store_analysis *a);

#endif
