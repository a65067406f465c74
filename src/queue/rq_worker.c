/* rq_worker.c - the parent process of `vas worker --redis` (rq_worker.h): loads the models,
 * forks one slot process per --concurrency, advertises the worker every 3 s (SET
 * vas:worker:<name> ... EX 15, with the jobs its slots run), restarts a slot that died and
 * reports that slot's job as failed, and on SIGTERM stops the slots and removes its key. */
#include "queue/rq_worker.h"
#include "queue/job.h"
#include "queue/rq_cache.h"
#include "queue/rq_http.h"
#include "queue/rq_worker_int.h"

#include "analyses/net_cache.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BEAT_MS     3000 /* advertisement period */
#define VAS_VERSION "0.1.0"

/* Set by SIGTERM/SIGINT in the parent: the one flag a signal handler may write. */
static volatile sig_atomic_t rq_stop;

static void on_stop(int sig)
{
    (void)sig;
    rq_stop = 1;
}

typedef struct child {
    pid_t pid;          /* 0: not running */
    int64_t started;    /* monotonic ms */
    int64_t respawn_at; /* monotonic ms; 0: now */
} child;

static void nap_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* ---- what the worker advertises ---- */

static int add_stream(rq_worker_ctx *c, const char *model, vas_err *e)
{
    if (c->n_streams >= RQ_WORKER_MAX_STREAMS - 1) {
        log_warn("rq", "event=model_not_served model=%s reason=\"over %d models\"", model,
                 RQ_WORKER_MAX_STREAMS - 1);
        return VAS_OK;
    }
    c->streams[c->n_streams] = util_concat("vas:jobs:", model);
    if (!c->streams[c->n_streams] || json_array_append_new(c->models, json_string(model)) < 0)
        return err_set(e, VAS_ENOMEM, "out of memory listing models");
    c->n_streams++;
    return VAS_OK;
}

/* The streams of the loaded 2D and 3D models, then vas:jobs:-. */
static int list_streams(rq_worker_ctx *c, vas_err *e)
{
    const analysis_env *env = c->env;
    int rc = (c->models = json_array()) ? VAS_OK : err_set(e, VAS_ENOMEM, "out of memory");

    for (int i = 0; rc == VAS_OK && i < pose_models_count(env->models); i++)
        rc = add_stream(c, pose_models_at(env->models, i)->name, e);
    for (int i = 0; rc == VAS_OK && i < geom_models3d_count(env->models3d); i++)
        rc = add_stream(c, geom_models3d_at(env->models3d, i)->model->name, e);
    if (rc == VAS_OK && !(c->streams[c->n_streams++] = util_concat("vas:jobs:", "-")))
        rc = err_set(e, VAS_ENOMEM, "out of memory");
    return rc;
}

static int advertise(rq_worker_ctx *c, rq_redis *r, time_t started, vas_err *e)
{
    char host[256] = "", key[RQ_WORKER_NAME_MAX + 16], *text;
    json_t *running = json_array(), *ad;
    int rc;

    gethostname(host, sizeof(host) - 1);
    for (int i = 0; i < c->concurrency; i++)
        if (atomic_load(&c->slots[i].busy))
            json_array_append_new(running, json_string(c->slots[i].id));
    ad = json_pack("{s:s, s:s, s:i, s:O, s:i, s:o, s:s, s:I, s:I}", "name", c->name, "host", host,
                   "pid", (int)getpid(), "models", c->models, "concurrency", c->concurrency,
                   "running", running, "version", VAS_VERSION, "started", (json_int_t)started,
                   "beat", (json_int_t)time(NULL));
    text = ad ? json_dumps(ad, JSON_COMPACT) : NULL;
    json_decref(ad);
    if (!text)
        return err_set(e, VAS_ENOMEM, "out of memory advertising the worker");
    snprintf(key, sizeof(key), "vas:worker:%s", c->name);
    rc = rq_redis_set_ex(r, key, text, RQ_WORKER_TTL_S, e);
    free(text);
    return rc;
}

/* ---- slots ---- */

static void spawn(rq_worker_ctx *c, child *ch, int slot)
{
    pid_t pid = fork();

    if (pid == 0) {
        vas_err e = {0};
        rq_worker_slot_main(c, slot, &e);
        log_error("rq", "event=slot_failed slot=%d error=\"%s\"", slot, e.msg);
        _exit(1);
    }
    if (pid < 0) {
        log_error("rq", "event=slot_spawn_failed slot=%d errno=%d", slot, errno);
        ch->respawn_at = util_mono_ms() + 1000;
        return;
    }
    ch->pid = pid;
    ch->started = util_mono_ms();
    ch->respawn_at = 0;
}

/* A slot died: the job it ran fails (a crash would crash again elsewhere, as with the embedded
 * workers), and it is restarted (after 1 s if it lived under 1 s). */
static void reap_one(rq_worker_ctx *c, rq_redis *r, child *ch, int slot, int status)
{
    rq_slot_state *s = &c->slots[slot];
    char why[512];
    vas_err e = {0};

    size_t k;

    job_describe_exit(c->cfg, status, why, sizeof(why));
    k = strlen(why);
    snprintf(why + k, sizeof(why) - k, " (on worker %s)", c->name);
    log_warn("rq", "event=slot_died slot=%d pid=%d busy=%d reason=\"%s\"", slot, (int)ch->pid,
             atomic_load(&s->busy), why);
    if (atomic_load(&s->busy)) {
        if (rq_worker_event(r, c->name, s->id, "failure", s->stream, s->entry,
                            json_pack("{s:s}", "description", why), &e) == VAS_OK)
            rq_redis_ack_del(r, s->stream, "workers", s->entry, &e);
        else
            log_error("rq", "event=slot_job_lost analysis_id=%s error=\"%s\"", s->id, e.msg);
        atomic_store(&s->busy, 0);
    }
    s->n_inputs = 0; /* its holds on the cache end with it */
    ch->respawn_at = util_mono_ms() - ch->started < 1000 ? util_mono_ms() + 1000 : 0;
    ch->pid = 0;
}

static void reap_all(rq_worker_ctx *c, rq_redis *r, child *kids)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (int i = 0; i < c->concurrency; i++)
            if (kids[i].pid == pid)
                reap_one(c, r, &kids[i], i, status);
}

static void stop_all(rq_worker_ctx *c, child *kids)
{
    int64_t deadline = util_mono_ms() + 3000;

    for (int i = 0; i < c->concurrency; i++)
        if (kids[i].pid)
            kill(kids[i].pid, SIGTERM);
    for (int i = 0; i < c->concurrency; i++) {
        while (kids[i].pid && waitpid(kids[i].pid, NULL, WNOHANG) == 0) {
            if (util_mono_ms() > deadline) {
                kill(kids[i].pid, SIGKILL);
                waitpid(kids[i].pid, NULL, 0);
                break;
            }
            nap_ms(10);
        }
        kids[i].pid = 0;
    }
}

/* ---- the parent's loop ---- */

/* Connects to Redis, waiting with back-off while it is unreachable (a worker may start first). */
static int connect_wait(const char *url, rq_redis **r, vas_err *e)
{
    int64_t wait = 100;

    for (;;) {
        int rc = rq_redis_connect(url, RQ_REDIS_RETRY_MS, NULL, r, e);
        if (rc != VAS_EIO || rq_stop)
            return rc;
        log_warn("rq", "event=redis_unreachable error=\"%s\" retry_ms=%lld", e->msg,
                 (long long)wait);
        nap_ms(wait);
        wait = wait * 2 > 5000 ? 5000 : wait * 2;
    }
}

/* A fingerprint of what the slots run (FNV-1a over the busy flags and ids): a change is
 * advertised at once, so GET /workers shows a job start or end (a cancel) within ~50 ms rather
 * than at the next beat. */
static uint64_t running_sig(const rq_worker_ctx *c)
{
    uint64_t h = 1469598103934665603ULL;

    for (int i = 0; i < c->concurrency; i++) {
        int busy = atomic_load(&c->slots[i].busy);
        h = (h ^ (uint64_t)busy) * 1099511628211ULL;
        for (const char *p = c->slots[i].id; busy && *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    }
    return h;
}

static void run_loop(rq_worker_ctx *c, rq_redis *r, child *kids)
{
    uint64_t sig = 0;
    time_t started = time(NULL);
    int64_t next_beat = 0;
    int beat_ok = 1;

    while (!rq_stop) {
        int64_t now = util_mono_ms();
        for (int i = 0; i < c->concurrency; i++)
            if (!kids[i].pid && kids[i].respawn_at <= now)
                spawn(c, &kids[i], i);
        uint64_t now_sig = running_sig(c);
        if (now >= next_beat || (now_sig != sig && beat_ok)) {
            sig = now_sig;
            vas_err e = {0};
            int ok = advertise(c, r, started, &e) == VAS_OK;
            if (!ok && beat_ok)
                log_warn("rq", "event=advertise_failed error=\"%s\"", e.msg);
            else if (ok && !beat_ok)
                log_info("rq", "event=advertise_resumed name=%s", c->name);
            beat_ok = ok;
            next_beat = now + (ok ? BEAT_MS : 500);
        }
        reap_all(c, r, kids);
        nap_ms(50);
    }
}

static int setup(rq_worker_ctx *c, const rq_worker_opts *o, vas_err *e)
{
    store *st = NULL;
    int fixed = 0, rc;

    if (o->name && *o->name)
        snprintf(c->name, sizeof(c->name), "%s", o->name);
    else {
        char host[128] = "";
        gethostname(host, sizeof(host) - 1);
        snprintf(c->name, sizeof(c->name), "%s-%d", host, (int)getpid());
    }
    if (strlen(c->name) >= RQ_WORKER_NAME_MAX - 1 || strpbrk(c->name, " \t\r\n\"/*?[]"))
        return err_set(e, VAS_EINVAL,
                       "--name must be under %d characters without spaces, quotes, '/' or "
                       "glob characters",
                       RQ_WORKER_NAME_MAX - 1);
    if (o->concurrency < 1 || o->concurrency > RQ_WORKER_MAX_SLOTS)
        return err_set(e, VAS_EINVAL, "--concurrency must be from 1 to %d", RQ_WORKER_MAX_SLOTS);
    c->concurrency = o->concurrency;
    /* The cache: what killed slots left (temp files, unlinked blobs) goes first. */
    rc = store_open(c->cfg->database, c->cfg->data_folder, &st, e);
    if (rc == VAS_OK)
        rc = store_check_repair(st, &fixed, e);
    if (rc == VAS_OK) /* a lower LIMIT_WORKER_CACHE than last time holds at once */
        rc = rq_cache_trim(c, st, e);
    store_close(st);
    if (rc < 0)
        return rc;
    c->slots = mmap(NULL, sizeof(rq_slot_state) * (size_t)c->concurrency, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c->slots == MAP_FAILED) {
        c->slots = NULL;
        return err_sys(e, VAS_ENOMEM, errno, "cannot map the slots' shared state");
    }
    return list_streams(c, e);
}

/* A worker with a token the server refuses would claim every job and fail it: it is refused at
 * start instead. A server that can't be reached now is no reason to stop (jobs retry their
 * transfers): that is only logged. */
static int token_ok(const rq_worker_ctx *c, vas_err *e)
{
    rq_http *h = NULL;
    vas_err why = {0};
    int rc = rq_http_new(c->server, c->cfg->api_token, &h, e);

    if (rc == VAS_OK && (rc = rq_http_check(h, &why)) == VAS_EAUTH)
        rc = err_set(e, VAS_EAUTH, "%s", why.msg);
    else if (rc < 0 && rc != VAS_EAUTH) {
        log_warn("rq", "event=server_not_checked error=\"%s\"", why.msg);
        rc = VAS_OK;
    }
    rq_http_free(h);
    return rc;
}

static void teardown(rq_worker_ctx *c)
{
    for (int i = 0; i < c->n_streams; i++)
        free(c->streams[i]);
    json_decref(c->models);
    if (c->slots)
        munmap(c->slots, sizeof(rq_slot_state) * (size_t)c->concurrency);
}

/* Two live workers of one name would share consumers, and each would run the other's pending
 * jobs again: a name advertised by another live process is refused. The same name on this host
 * with a dead pid is a restart, which is fine (it takes over its own pending entries). */
static int name_free(const rq_worker_ctx *c, rq_redis *r, vas_err *e)
{
    char key[RQ_WORKER_NAME_MAX + 16], host[256] = "";
    redisReply *rep = NULL;
    json_t *ad = NULL;
    int rc;

    snprintf(key, sizeof(key), "vas:worker:%s", c->name);
    rc = rq_redis_cmd(r, &rep, e, "GET %s", key);
    if (rc < 0)
        return rc;
    if (rep->type == REDIS_REPLY_STRING)
        ad = json_loads(rep->str, 0, NULL);
    freeReplyObject(rep);
    if (!ad)
        return VAS_OK;
    const char *their_host = json_string_value(json_object_get(ad, "host"));
    pid_t pid = (pid_t)json_integer_value(json_object_get(ad, "pid"));
    gethostname(host, sizeof(host) - 1);
    if (their_host && strcmp(their_host, host) == 0 &&
        (pid == getpid() || pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH)))
        rc = VAS_OK;
    else
        rc = err_set(e, VAS_ECONFLICT,
                     "a worker named '%s' is already running (on %s, pid %d): give this one "
                     "another --name, or wait 15 s if that one was stopped",
                     c->name, their_host ? their_host : "?", (int)pid);
    json_decref(ad);
    return rc;
}

static int serve_slots(rq_worker_ctx *c, const rq_worker_opts *o, vas_err *e)
{
    child kids[RQ_WORKER_MAX_SLOTS] = {0};
    rq_redis *r = NULL;
    char key[RQ_WORKER_NAME_MAX + 16];
    redisReply *rep = NULL;
    int rc = connect_wait(o->redis_url, &r, e);

    if (rc == VAS_OK)
        rc = name_free(c, r, e);
    if (rc < 0 || rq_stop) {
        rq_redis_free(r);
        return rc;
    }
    log_info("rq", "event=worker_ready name=%s concurrency=%d streams=%d server=%s", c->name,
             c->concurrency, c->n_streams, c->server);
    run_loop(c, r, kids);
    log_info("rq", "event=worker_stopping name=%s", c->name);
    stop_all(c, kids);
    /* Gone at once rather than in 15 s; the jobs stopped mid-way wait for the reaper. */
    snprintf(key, sizeof(key), "vas:worker:%s", c->name);
    if (rq_redis_cmd(r, &rep, e, "DEL %s", key) == VAS_OK)
        freeReplyObject(rep);
    rq_redis_free(r);
    return VAS_OK;
}

int rq_worker_main(const config *cfg, const rq_worker_opts *o, vas_err *e)
{
    pose_models *models = NULL;
    geom_models3d *models3d = NULL;
    analysis_env env = {.cfg = cfg};
    rq_worker_ctx c = {.cfg = cfg, .env = &env, .redis_url = o->redis_url, .server = o->server};
    rq_redis_url u;
    struct sigaction sa = {.sa_handler = on_stop};
    int rc;

    if (o->parent_pid > 0) { /* a local worker of `vas serve` stops with it */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != o->parent_pid)
            return err_set(e, VAS_EIO, "the server that started this worker is gone");
    }
    rc = rq_redis_url_parse(o->redis_url, &u, e);
    if (rc == VAS_OK && strncmp(o->server, "http://", 7) != 0 &&
        strncmp(o->server, "https://", 8) != 0)
        rc = err_set(e, VAS_EINVAL, "--server must be an http:// or https:// URL, not '%s'",
                     o->server);
    if (rc == VAS_OK) /* networks are loaded by the first job on them, then kept warm */
        rc = pose_models_load(cfg, 0, &models, e);
    if (rc == VAS_OK)
        rc = geom_models3d_load(cfg, models, &models3d, e);
    if (rc == VAS_OK) /* empty here: each forked slot fills its own copy */
        rc = net_cache_new(cfg->lim.worker_models, &env.nets, e);
    env.models = models;
    env.models3d = models3d;
    if (rc == VAS_OK)
        rc = setup(&c, o, e);
    if (rc == VAS_OK)
        rc = token_ok(&c, e);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* Spawned by `vas serve`, whose threads block these for its sigwait: the mask is inherited. */
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGINT);
    sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (rc == VAS_OK)
        rc = serve_slots(&c, o, e);
    teardown(&c);
    net_cache_free(env.nets);
    geom_models3d_free(models3d);
    pose_models_free(models);
    return rc;
}
