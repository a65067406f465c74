/* main.c - the `vas` command line: parses arguments and calls into modules. Nothing else. */
#include "analyses/analyze_cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "media/media_video.h"
#include "model/model_info.h"
#include "nn/nn_cli.h"
#include "nn/nn_cpu.h"
#include "pose/pose_model.h"
#include "queue/queue.h"
#include "queue/rq_redis.h"
#include "queue/rq_server.h"
#include "queue/rq_worker.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: vas <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve      the HTTP API with embedded workers (SQLite + data folder, nothing else)\n"
    "  init-db    create the database and data folder if absent\n"
    "  clean-up   delete old analyses and files (clean_up_*_days in the config)\n"
    "  check      check the database against the data folder (exit 1 on any problem)\n"
    "  worker     run jobs: --redis on any machine (vas worker --help), or --embedded\n"
    "  analyze    run an analysis on local files, no server (vas analyze --help)\n"
    "  model-info what vas finds in a model folder or file (vas model-info --help)\n"
    "  nn-run     run an ONNX model on random input or a raw float32 file (vas nn-run --help)\n"
    "\n"
    "`vas <command> --help` shows a command's options.\n";

static const char common_opts[] =
    "  --config FILE     YAML config; the old service's config.yaml keys are accepted\n"
    "  --db PATH         SQLite database (config: DATABASE)\n"
    "  --data DIR        data folder (config: DATA_FOLDER)\n"
    "  --models DIR      model folder (config: DLC_MODELS)\n"
    "  --log-level L     error|warn|info|debug (config: LOG_LEVEL)\n";

static const char serve_help[] =
    "usage: vas serve [--config FILE] [--host H] [--port N] [--workers N] [options]\n"
    "  --host H          address to listen on (default 127.0.0.1; config: HOST)\n"
    "  --port N          port (default 5000; 0 = any free one; config: PORT)\n"
    "  --workers N       worker processes (default 1; config: WORKERS)\n"
    "  --http-threads N  HTTP threads (default 2; config: HTTP_THREADS)\n"
    "  --max-upload N    largest upload in bytes (config: MAX_CONTENT_LENGTH)\n"
    "  --token T         require 'Authorization: Bearer T' (config: API_TOKEN; env VAS_API_TOKEN)\n"
    "  --port-file FILE  write the port listened on to FILE once ready\n"
    "  --queue URL       redis://[:PASSWORD@]HOST:PORT/DB: jobs go through Redis to `vas worker`s\n"
    "                    (config: CELERY_broker_url when it is redis://; --workers 0: no local\n"
    "                    worker)\n";

typedef struct opts {
    const char *config_path;
    const char *port_file;
    int notify_fd;
    int parent;
    int embedded;
    const char *redis, *server, *name, *data; /* vas worker --redis */
    int concurrency;                          /* vas worker --redis; 0: not given */
} opts;

static const char worker_help[] =
    "usage: vas worker --redis URL --server http://HOST:PORT [options]\n"
    "  runs the jobs `vas serve --queue URL` puts on Redis, on this machine\n"
    "  --redis URL       redis://[:PASSWORD@]HOST:PORT/DB (env VAS_REDIS_URL; config:\n"
    "                    CELERY_broker_url)\n"
    "  --server URL      the server's HTTP API: inputs are downloaded, outputs uploaded\n"
    "  --name NAME       advertised name (default <hostname>-<pid>)\n"
    "  --concurrency N   jobs at once, one process each (default 1)\n"
    "  --token T         the server's API token (config: API_TOKEN; env VAS_API_TOKEN)\n"
    "  --data DIR        the worker's own cache of inputs (default var/worker-data; the\n"
    "                    config's DATA_FOLDER and DATABASE, the server's, are not used;\n"
    "                    it keeps to LIMIT_WORKER_CACHE bytes, default 20 GiB)\n"
    "usage: vas worker --embedded [options]   (started by `vas serve`)\n";

/* vas worker's own flags (not config keys). */
static int parse_worker_flag(const char *a, const char *v, opts *o, vas_err *e)
{
    int64_t n;

    if (strcmp(a, "--redis") == 0)
        o->redis = v;
    else if (strcmp(a, "--server") == 0)
        o->server = v;
    else if (strcmp(a, "--name") == 0)
        o->name = v;
    else if (strcmp(a, "--concurrency") == 0) {
        if (util_parse_i64(v, &n) < 0 || n < 1 || n > 64)
            return err_set(e, VAS_EINVAL, "--concurrency needs a number from 1 to 64, not '%s'", v);
        o->concurrency = (int)n;
    } else
        return 1;
    return VAS_OK;
}

/* Flag -> config key, so a flag overrides the same key from the file. */
static const struct {
    const char *flag, *key;
} flag_keys[] = {{"--host", "HOST"},         {"--port", "PORT"},
                 {"--workers", "WORKERS"},   {"--http-threads", "HTTP_THREADS"},
                 {"--db", "DATABASE"},       {"--data", "DATA_FOLDER"},
                 {"--models", "DLC_MODELS"}, {"--max-upload", "MAX_CONTENT_LENGTH"},
                 {"--token", "API_TOKEN"},   {"--log-level", "LOG_LEVEL"}};

/* Applies one "--flag value" pair (i points at the flag; advanced past the value). */
static int parse_flag(int argc, char **argv, int *i, config *c, opts *o, vas_err *e)
{
    const char *a = argv[*i], *v;
    int64_t n;
    int rc;

    if (strcmp(a, "--embedded") == 0) {
        o->embedded = 1;
        return VAS_OK;
    }
    if (*i + 1 >= argc)
        return err_set(e, VAS_EINVAL, "%s needs a value (see --help)", a);
    v = argv[++*i];
    if (strcmp(a, "--config") == 0)
        return VAS_OK;               /* read in the first pass */
    if (strcmp(a, "--queue") == 0) { /* serve: only Redis; a wrong URL is refused here */
        rq_redis_url u;
        return rq_redis_url_parse(v, &u, e) < 0 ? e->code
                                                : config_set(c, "CELERY_broker_url", v, e);
    }
    if (strcmp(a, "--port-file") == 0) {
        o->port_file = v;
        return VAS_OK;
    }
    if ((rc = parse_worker_flag(a, v, o, e)) <= 0)
        return rc;
    if (strcmp(a, "--data") == 0)
        o->data = v;
    if (strcmp(a, "--notify-fd") == 0 || strcmp(a, "--parent") == 0) {
        if (util_parse_i64(v, &n) < 0 || n < 0 || n > INT_MAX)
            return err_set(e, VAS_EINVAL, "%s needs a number", a);
        *(a[2] == 'n' ? &o->notify_fd : &o->parent) = (int)n;
        return VAS_OK;
    }
    for (size_t k = 0; k < sizeof(flag_keys) / sizeof(flag_keys[0]); k++)
        if (strcmp(a, flag_keys[k].flag) == 0)
            return config_set(c, flag_keys[k].key, v, e);
    return err_set(e, VAS_EINVAL, "unknown option '%s' (see --help)", a);
}

/* A Redis worker's cache: --data or var/worker-data, its database inside. Never the config's
 * DATA_FOLDER: a config shared with the server would mix the worker's blobs into the server's. */
static int worker_cache_paths(config *c, const opts *o, vas_err *e)
{
    const char *data = o->data ? o->data : "var/worker-data";
    char db[4096];
    int rc = config_set(c, "DATA_FOLDER", data, e);

    snprintf(db, sizeof(db), "%s/cache.db", data);
    return rc < 0 ? rc : config_set(c, "DATABASE", db, e);
}

/* Config = defaults, then --config FILE (or env VAS_API_TOKEN), then flags, whatever their
 * order on the line. Called before any thread starts (getenv is fine here). */
static int parse_args(int argc, char **argv, const char *help, config *c, opts *o, vas_err *e)
{
    const char *token = getenv("VAS_API_TOKEN"); /* NOLINT(concurrency-mt-unsafe) */
    int rc;

    o->notify_fd = -1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s%s", help, common_opts);
            exit(0); /* NOLINT(concurrency-mt-unsafe): single-threaded here */
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            o->config_path = argv[++i];
    }
    if (token && (rc = config_set(c, "API_TOKEN", token, e)) < 0)
        return rc;
    if (o->config_path && (rc = config_load_file(c, o->config_path, e)) < 0)
        return rc;
    for (int i = 2; i < argc; i++)
        if ((rc = parse_flag(argc, argv, &i, c, o, e)) < 0)
            return rc;
    log_set_level(c->log_level);
    if (strcmp(argv[1], "worker") == 0 && !o->embedded)
        return worker_cache_paths(c, o, e);
    return VAS_OK;
}

static int write_port_file(const char *path, int port, vas_err *e)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
        return err_sys(e, VAS_EIO, errno, "cannot write port file %s", path);
    return VAS_OK;
}

static int prepare_db(const config *c, vas_err *e)
{
    store *st = NULL;
    int requeued = 0, failed = 0, repaired = 0;
    int rc = store_open(c->database, c->data_folder, &st, e);

    if (rc == VAS_OK)
        rc = store_analysis_recover(st, &requeued, &failed, e);
    if (rc == VAS_OK && (requeued || failed))
        log_warn("queue", "event=recovered requeued=%d failed=%d", requeued, failed);
    if (rc == VAS_OK)
        rc = store_check_repair(st, &repaired, e); /* what killed processes left */
    if (rc == VAS_OK && repaired)
        log_warn("store", "event=repaired count=%d", repaired);
    store_close(st);
    return rc;
}

/* The Redis queue when the broker URL is redis:// (--queue, CELERY_broker_url), then HTTP with
 * its hooks; the embedded queue's notify otherwise. */
static int start_http(const config *c, const analysis_env *env, supervisor *sup, rq_server **rq,
                      http_server **srv, vas_err *e)
{
    http_queue q = {.notify = sup ? supervisor_notify : NULL, .arg = sup};
    rq_server_opts ro = {.url = c->broker_url};
    int rc;

    if (!c->broker_url || strncasecmp(c->broker_url, "redis://", 8) != 0)
        return http_server_start_queue(env, &q, srv, e);
#ifdef VAS_TEST_BUILD /* the tests' dead workers are reaped in seconds, not 10 s */
    const char *g = getenv("VAS_QUEUE_GRACE_MS"); /* NOLINT(concurrency-mt-unsafe) */
    int64_t ms = 0;
    if (g && util_parse_i64(g, &ms) == 0 && ms > 0 && ms < 600000)
        ro.grace_ms = (int)ms;
#endif
    rc = rq_server_start(c, &ro, rq, e);
    if (rc < 0)
        return rc;
    q = (http_queue){rq_server_notify, *rq, rq_server_cancel, rq_server_workers,
                     rq_server_model_live};
    return http_server_start_queue(env, &q, srv, e);
}

static int cmd_serve(const config *c, const opts *o, vas_err *e)
{
    rq_server *rq = NULL;
    pose_models *models = NULL;
    geom_models3d *models3d = NULL;
    analysis_env env = {.cfg = c};
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    supervisor *sup = NULL;
    http_server *srv = NULL;
    sigset_t set;
    int sig = 0, rc;

    if (n < 0)
        return err_sys(e, VAS_EIO, errno, "cannot find the vas executable");
    exe[n] = '\0';
    /* Signals go to this thread's sigwait only: block them before any thread starts. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = prepare_db(c, e);
    if (rc == VAS_OK)
        rc = pose_models_load(c, 1, &models, e); /* a broken bundle is logged and left out */
    if (rc == VAS_OK)
        rc = geom_models3d_load(c, models, &models3d, e); /* likewise */
    env.models = models;
    env.models3d = models3d;
    if (rc == VAS_OK)
        rc = supervisor_start(c, exe, &sup, e);
    if (rc == VAS_OK)
        rc = start_http(c, &env, sup, &rq, &srv, e);
    if (rc == VAS_OK)
        supervisor_serve(sup, http_server_port(srv)); /* Redis mode's local workers need it */
    if (rc == VAS_OK && o->port_file)
        rc = write_port_file(o->port_file, http_server_port(srv), e);
    if (rc == VAS_OK) {
        log_info("main", "event=listening url=http://%s:%d/ db=%s data=%s workers=%d cpu=\"%s\"",
                 c->host, http_server_port(srv), c->database, c->data_folder, c->workers,
                 nn_cpu_describe());
        sigwait(&set, &sig);
        log_info("main", "event=stopping signal=%d", sig);
    }
    http_server_stop(srv);
    rq_server_stop(rq);
    supervisor_stop(sup);
    geom_models3d_free(models3d);
    pose_models_free(models);
    return rc;
}

static int cmd_init_db(const config *c, vas_err *e)
{
    store *st = NULL;
    int rc = store_open(c->database, c->data_folder, &st, e);

    if (rc == VAS_OK)
        printf("database %s and data folder %s are ready\n", c->database, c->data_folder);
    store_close(st);
    return rc;
}

static int cmd_clean_up(const config *c, vas_err *e)
{
    store *st = NULL;
    int nf = 0, na = 0;
    int rc = store_open(c->database, c->data_folder, &st, e);

    if (rc == VAS_OK)
        rc = store_clean_up(st, c->clean_up_files_days, c->clean_up_analyses_days, &nf, &na, e);
    if (rc == VAS_OK)
        printf("deleted %d analyses and %d files\n", na, nf);
    store_close(st);
    return rc;
}

static void print_problem(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
}

/* `vas check`: one line per problem, then "check: ok files=N blobs=N analyses=N" (exit 0) or
 * "check: N problems" (exit 1). */
static int cmd_check(const config *c, const opts *o, vas_err *e)
{
    store *st = NULL;
    store_check_counts n = {0};
    struct stat sb;
    int rc = stat(c->database, &sb) == 0
                 ? VAS_OK /* a check never makes a new database */
                 : err_sys(e, VAS_ENOTFOUND, errno, "no database at %s", c->database);

    (void)o;
    if (rc == VAS_OK)
        rc = store_open(c->database, c->data_folder, &st, e);
    if (rc == VAS_OK)
        rc = store_check_run(st, print_problem, NULL, &n, e);
    store_close(st);
    if (rc < 0) { /* a check that could not finish is one more problem */
        printf("the check could not finish: %s\n", e->msg);
        n.problems++;
    }
    if (n.problems) {
        printf("check: %lld problems\n", (long long)n.problems);
        return 1; /* the exit status; no error message */
    }
    printf("check: ok files=%lld blobs=%lld analyses=%lld\n", (long long)n.files,
           (long long)n.blobs, (long long)n.analyses);
    return VAS_OK;
}

static int cmd_worker(const config *c, const opts *o, vas_err *e)
{
    const char *redis = o->redis;
    rq_worker_opts w = {.server = o->server, .name = o->name, .parent_pid = o->parent};

    if (o->embedded)
        return worker_main(c, o->notify_fd, o->parent, e);
    if (!redis) /* from `vas serve`'s supervisor: not in argv, where ps would show a password */
        redis = getenv("VAS_REDIS_URL"); /* NOLINT(concurrency-mt-unsafe): one thread yet */
    if (!redis && c->broker_url && strncmp(c->broker_url, "redis://", 8) == 0)
        redis = c->broker_url; /* the old config's CELERY_broker_url */
    if (!redis)
        return err_set(e, VAS_EINVAL, "vas worker needs --redis URL (or --embedded; see --help)");
    if (!o->server)
        return err_set(e, VAS_EINVAL, "vas worker --redis needs --server http://HOST:PORT");
    w.redis_url = redis;
    w.concurrency = o->concurrency ? o->concurrency : 1;
    return rq_worker_main(c, &w, e);
}

/* `vas analyze`: the config options (--config, --models, --log-level) are taken here, the rest
 * go to analyze_cli_main. */
static int cmd_analyze(int argc, char **argv)
{
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    config c;
    vas_err e = {0};
    int n = 0, rc = 0;

    if (!rest || config_defaults(&c, &e) < 0) {
        free(rest);
        fprintf(stderr, "vas analyze: out of memory\n");
        return 1;
    }
    rest[n++] = argv[0];
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        int is_cfg = !strcmp(a, "--config") || !strcmp(a, "--models") || !strcmp(a, "--log-level");
        if (!is_cfg || i + 1 >= argc) {
            rest[n++] = argv[i];
            continue;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--config"))
            rc = config_load_file(&c, v, &e);
        else
            rc = config_set(&c, !strcmp(a, "--models") ? "DLC_MODELS" : "LOG_LEVEL", v, &e);
    }
    log_set_level(c.log_level);
    if (rc < 0)
        fprintf(stderr, "vas analyze: %s\n", e.msg);
    else
        rc = analyze_cli_main(&c, n, rest);
    config_free(&c);
    free(rest);
    return rc < 0 ? 2 : rc;
}

typedef struct command {
    const char *name;
    const char *help;
    int (*run)(const config *c, const opts *o, vas_err *e);
} command;

static int run_init_db(const config *c, const opts *o, vas_err *e)
{
    (void)o;
    return cmd_init_db(c, e);
}

static int run_clean_up(const config *c, const opts *o, vas_err *e)
{
    (void)o;
    return cmd_clean_up(c, e);
}

static const command commands[] = {
    {"serve", serve_help, cmd_serve},
    {"init-db", "usage: vas init-db [--config FILE] [options]\n", run_init_db},
    {"clean-up", "usage: vas clean-up [--config FILE] [options]\n", run_clean_up},
    {"check",
     "usage: vas check [--config FILE] [options]\n"
     "  checks every file row has its blob and every blob a row, no temp file is left, no\n"
     "  analysis is STARTED by a dead worker, outputs of finished analyses exist; prints one\n"
     "  line per problem, then 'check: ok files=N blobs=N analyses=N' (exit 0) or\n"
     "  'check: N problems' (exit 1). Safe while the server runs or is stopped.\n",
     cmd_check},
    {"worker", worker_help, cmd_worker},
};

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";
    const command *cmd = NULL;
    config c;
    opts o = {0};
    vas_err e = {0};
    int rc;

    media_log_setup(); /* FFmpeg's own messages become debug log lines, before any thread */
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(name, "analyze") == 0)
        return cmd_analyze(argc - 1, argv + 1);
    if (strcmp(name, "nn-run") == 0)
        return nn_cli_main_with(argc - 1, argv + 1, model_info_graph_load); /* see nn_cli.h */
    if (strcmp(name, "model-info") == 0)
        return model_info_main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(name, commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd) {
        if (*name)
            fprintf(stderr, "vas: unknown command '%s'\n%s", name, usage);
        else
            fprintf(stderr, "vas: no command given\n%s", usage);
        return 2;
    }
    if (config_defaults(&c, &e) < 0 || parse_args(argc, argv, cmd->help, &c, &o, &e) < 0) {
        fprintf(stderr, "vas %s: %s\n", name, e.msg);
        config_free(&c);
        return 2;
    }
    rc = cmd->run(&c, &o, &e);
    if (rc < 0)
        fprintf(stderr, "vas %s: %s\n", name, e.msg);
    config_free(&c);
    return rc < 0 ? 1 : rc; /* a command's positive result is its exit status */
}
