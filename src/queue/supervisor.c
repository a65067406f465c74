/* supervisor.c - keeps cfg->workers worker processes alive for `vas serve`.
 *
 * DESIGN: one thread polls a pidfd per worker plus an eventfd that asks it to stop. When a worker
 * ends while the server runs, its STARTED job (found by worker_pid) becomes FAILURE with what
 * killed it, and a new worker is spawned (after 1 s if the dead one lived under 1 s, so a worker
 * that can't start doesn't spin). Workers are spawned with posix_spawn, safe in a threaded
 * process; the wake-up pipe's read end is their fd 3.
 *
 * With a Redis queue (cfg->broker_url redis://) the local workers are `vas worker --redis`
 * processes instead, talking to this server over loopback HTTP like any remote worker (named
 * <hostname>-<port>-local<i>, cache in <data>/workers/<i>); they start once supervisor_serve gives
 * the port. The Redis URL and the token go through the environment, not argv, so `ps` shows
 * neither. */
#include "queue/job.h"
#include "queue/queue.h"

#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUP_MAX_WORKERS 256

extern char **environ;

typedef struct slot {
    pid_t pid;          /* 0: none running */
    int pidfd;          /* -1 when none */
    int64_t started;    /* monotonic ms */
    int64_t respawn_at; /* monotonic ms; 0 = now */
} slot;

struct supervisor {
    const config *cfg;
    const char *exe;
    int wake_rd, wake_wr; /* the wake-up pipe (nonblocking) */
    int stop_fd;          /* eventfd: stop the thread */
    pthread_t thread;
    int thread_started;
    store *st;       /* the supervisor thread's connection */
    int redis;       /* 1: the workers are `vas worker --redis` (cfg->broker_url) */
    atomic_int port; /* Redis mode: the HTTP port, 0 until supervisor_serve */
    char **envp;     /* Redis mode: environ + VAS_REDIS_URL + VAS_API_TOKEN (owned) */
    int n;
    slot slots[SUP_MAX_WORKERS];
};

/* A `vas worker --redis` local worker for slot w (Redis mode). */
static int spawn_redis_worker(supervisor *s, slot *w, pid_t *pid)
{
    const char *levels[] = {"error", "warn", "info", "debug"};
    char server[64], name[160], host[128] = "", data[4096], parent[16];
    int i = (int)(w - s->slots);
    char *argv[] = {(char *)s->exe,
                    "worker",
                    "--server",
                    server,
                    "--name",
                    name,
                    "--data",
                    data,
                    "--models",
                    s->cfg->models_dir,
                    "--log-level",
                    (char *)levels[s->cfg->log_level & 3],
                    "--parent",
                    parent,
                    s->cfg->path ? "--config" : NULL,
                    s->cfg->path,
                    NULL};

    gethostname(host, sizeof(host) - 1);
    snprintf(server, sizeof(server), "http://127.0.0.1:%d", atomic_load(&s->port));
    snprintf(name, sizeof(name), "%s-%d-local%d", host, atomic_load(&s->port), i);
    snprintf(data, sizeof(data), "%s/workers/%d", s->cfg->data_folder, i);
    snprintf(parent, sizeof(parent), "%d", (int)getpid());
    return posix_spawn(pid, s->exe, NULL, NULL, argv, s->envp);
}

/* environ without VAS_REDIS_URL and VAS_API_TOKEN, then ours (Redis mode). */
static int make_envp(supervisor *s)
{
    size_t n = 0, k = 0;

    while (environ[n])
        n++;
    s->envp = calloc(n + 3, sizeof(char *));
    if (!s->envp)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "VAS_REDIS_URL=", 14) && strncmp(environ[i], "VAS_API_TOKEN=", 14))
            s->envp[k++] = strdup(environ[i]);
    s->envp[k++] = util_concat("VAS_REDIS_URL=", s->cfg->broker_url);
    if (s->cfg->api_token && *s->cfg->api_token)
        s->envp[k++] = util_concat("VAS_API_TOKEN=", s->cfg->api_token);
    for (size_t i = 0; i < k; i++)
        if (!s->envp[i])
            return -1;
    return 0;
}

static int spawn_worker(supervisor *s, slot *w)
{
    char lvl[8], parent[16];
    const char *levels[] = {"error", "warn", "info", "debug"};
    /* The config file first (for what has no flag, like the DLC_MODELS mapping), then the
     * resolved values as flags, which override it: the worker sees what the server sees. */
    char *argv[] = {(char *)s->exe,
                    "worker",
                    "--embedded",
                    "--notify-fd",
                    "3",
                    "--db",
                    s->cfg->database,
                    "--data",
                    s->cfg->data_folder,
                    "--models",
                    s->cfg->models_dir,
                    "--log-level",
                    lvl,
                    "--parent",
                    parent,
                    s->cfg->path ? "--config" : NULL,
                    s->cfg->path,
                    NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc;

    snprintf(lvl, sizeof(lvl), "%s", levels[s->cfg->log_level & 3]);
    snprintf(parent, sizeof(parent), "%d", (int)getpid());
    if (s->redis) {
        rc = spawn_redis_worker(s, w, &pid);
    } else {
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, s->wake_rd, 3);
        rc = posix_spawn(&pid, s->exe, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
    }
    if (rc != 0) {
        log_error("queue", "event=worker_spawn_failed errno=%d", rc);
        return -1;
    }
    w->pid = pid;
    w->pidfd = (int)pidfd_open(pid, 0);
    w->started = util_mono_ms();
    log_info("queue", "event=worker_started worker_pid=%d", (int)pid);
    return 0;
}

static void reap(supervisor *s, slot *w)
{
    char why[512];
    int status = 0, n = 0, n_fixed = 0;
    vas_err e = {0};

    if (waitpid(w->pid, &status, 0) < 0)
        status = 0;
    job_describe_exit(s->cfg, status, why, sizeof(why));
    if (store_analysis_fail_worker(s->st, (int)w->pid, why, &n, &e) < 0)
        log_error("queue", "event=fail_worker_job_failed worker_pid=%d error=\"%s\"", (int)w->pid,
                  e.msg);
    log_warn("queue", "event=worker_died worker_pid=%d jobs_failed=%d reason=\"%s\"", (int)w->pid,
             n, why);
    /* What it was writing: a blob linked but not committed, its job's temp folder. */
    if (store_check_repair(s->st, &n_fixed, &e) < 0)
        log_error("queue", "event=repair_failed worker_pid=%d error=\"%s\"", (int)w->pid, e.msg);
    close(w->pidfd);
    w->pidfd = -1;
    w->pid = 0;
    w->respawn_at = util_mono_ms() - w->started < 1000 ? util_mono_ms() + 1000 : 0;
    if (n > 0)
        supervisor_notify(s); /* the new worker should look at the queue at once */
}

/* Spawns the workers that are due; fills p[1..n] with their pidfds. Returns the poll timeout
 * (ms) until the next delayed respawn, or -1 for none. */
static int spawn_due(supervisor *s, struct pollfd *p)
{
    int64_t now = util_mono_ms(), timeout = -1;
    int ready = !s->redis || atomic_load(&s->port) > 0; /* Redis workers need the port */

    for (int i = 0; i < s->n; i++) {
        slot *w = &s->slots[i];
        if (!w->pid && w->respawn_at <= now && ready)
            spawn_worker(s, w);
        if (!w->pid) {
            int64_t wait = !ready ? 50 : w->respawn_at > now ? w->respawn_at - now : 1000;
            if (timeout < 0 || wait < timeout)
                timeout = wait;
        }
        p[i + 1] = (struct pollfd){.fd = w->pidfd, .events = POLLIN};
    }
    return (int)timeout;
}

static void *supervise(void *arg)
{
    supervisor *s = arg;
    struct pollfd p[SUP_MAX_WORKERS + 1];

    for (;;) {
        int timeout = spawn_due(s, p);
        p[0] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
        if (poll(p, (nfds_t)s->n + 1, timeout) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        for (int i = 0; i < s->n; i++)
            if (s->slots[i].pid && p[i + 1].revents)
                reap(s, &s->slots[i]);
    }
    return NULL;
}

void supervisor_serve(supervisor *s, int port)
{
    if (s)
        atomic_store(&s->port, port);
}

void supervisor_notify(void *arg)
{
    supervisor *s = arg;

    /* A full pipe already wakes every worker; dropping the byte loses nothing. */
    if (write(s->wake_wr, "j", 1) < 0 && errno != EAGAIN)
        log_warn("queue", "event=notify_failed errno=%d", errno);
}

int supervisor_start(const config *cfg, const char *exe, supervisor **out, vas_err *e)
{
    supervisor *s = calloc(1, sizeof(*s));
    int fds[2] = {-1, -1}, rc;

    if (!s)
        return err_set(e, VAS_ENOMEM, "out of memory starting workers");
    s->cfg = cfg;
    s->exe = exe;
    s->n = cfg->workers < SUP_MAX_WORKERS ? cfg->workers : SUP_MAX_WORKERS;
    s->redis = cfg->broker_url && strncmp(cfg->broker_url, "redis://", 8) == 0;
    if (s->redis && make_envp(s) < 0) {
        rc = err_set(e, VAS_ENOMEM, "out of memory starting workers");
        goto fail;
    }
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0 || s->stop_fd < 0) {
        rc = err_sys(e, VAS_EIO, errno, "cannot create the job queue's pipe");
        goto fail;
    }
    /* Keep the read end above 3, so the spawn's dup2 to 3 really copies it without CLOEXEC. */
    s->wake_rd = fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
    close(fds[0]);
    s->wake_wr = fds[1];
    for (int i = 0; i < SUP_MAX_WORKERS; i++)
        s->slots[i].pidfd = -1;
    rc = store_open(cfg->database, cfg->data_folder, &s->st, e);
    if (rc < 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, supervise, s) != 0) {
        rc = err_set(e, VAS_EIO, "cannot start the supervisor thread");
        goto fail;
    }
    s->thread_started = 1;
    *out = s;
    return VAS_OK;
fail:
    supervisor_stop(s);
    return rc;
}

/* A worker stopped with the server: its job runs again at the next start (not FAILURE: nothing
 * went wrong with it), and no row stays STARTED while no server runs (vas check). */
static void requeue(supervisor *s, pid_t pid)
{
    vas_err e = {0};
    int n = 0;

    if (store_analysis_requeue_worker(s->st, (int)pid, &n, &e) < 0)
        log_error("queue", "event=requeue_failed worker_pid=%d error=\"%s\"", (int)pid, e.msg);
    else if (n > 0)
        log_info("queue", "event=requeued worker_pid=%d jobs=%d", (int)pid, n);
}

static void stop_workers(supervisor *s)
{
    int64_t deadline = util_mono_ms() + 3000;

    for (int i = 0; i < s->n; i++)
        if (s->slots[i].pid)
            kill(s->slots[i].pid, SIGTERM);
    for (int i = 0; i < s->n; i++) {
        slot *w = &s->slots[i];
        while (w->pid && waitpid(w->pid, NULL, WNOHANG) == 0) {
            if (util_mono_ms() > deadline) {
                kill(w->pid, SIGKILL);
                waitpid(w->pid, NULL, 0);
                break;
            }
            usleep(10 * 1000);
        }
        if (w->pid)
            requeue(s, w->pid);
        if (w->pidfd >= 0)
            close(w->pidfd);
        w->pid = 0;
        w->pidfd = -1;
    }
    /* No worker runs now: the temp folders of the jobs they were running (requeued above) go
     * now, rather than at the next start. */
    if (s->n > 0) {
        vas_err e = {0};
        int n_fixed = 0;
        if (store_check_repair(s->st, &n_fixed, &e) < 0)
            log_error("queue", "event=repair_failed error=\"%s\"", e.msg);
        else if (n_fixed > 0)
            log_info("queue", "event=stop_cleaned count=%d", n_fixed);
    }
}

void supervisor_stop(supervisor *s)
{
    uint64_t one = 1;

    if (!s)
        return;
    if (s->thread_started) {
        if (write(s->stop_fd, &one, sizeof(one)) < 0)
            log_warn("queue", "event=stop_signal_failed errno=%d", errno);
        pthread_join(s->thread, NULL);
    }
    stop_workers(s);
    store_close(s->st);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->wake_wr > 0)
        close(s->wake_wr);
    if (s->wake_rd > 0)
        close(s->wake_rd);
    for (size_t i = 0; s->envp && s->envp[i]; i++)
        free(s->envp[i]);
    free(s->envp);
    free(s);
}
