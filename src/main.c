/* main.c - the `vas` command line: parses arguments and calls into modules. Nothing else. */
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "queue/queue.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: vas <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve      the HTTP API with embedded workers (SQLite + data folder, nothing else)\n"
    "  init-db    create the database and data folder if absent\n"
    "  clean-up   delete old analyses and files (clean_up_*_days in the config)\n"
    "  worker     run jobs (started by `vas serve`; --embedded)\n"
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
    "  --port-file FILE  write the port listened on to FILE once ready\n";

typedef struct opts {
    const char *config_path;
    const char *port_file;
    int notify_fd;
    int parent;
    int embedded;
} opts;

/* Flag -> config key, so a flag overrides the same key from the file. */
static const struct {
    const char *flag, *key;
} flag_keys[] = {{"--host", "HOST"},         {"--port", "PORT"},
                 {"--workers", "WORKERS"},   {"--http-threads", "HTTP_THREADS"},
                 {"--db", "DATABASE"},       {"--data", "DATA_FOLDER"},
                 {"--models", "DLC_MODELS"}, {"--max-upload", "MAX_CONTENT_LENGTH"},
                 {"--token", "API_TOKEN"},   {"--log-level", "LOG_LEVEL"}};

static int parse_args(int argc, char **argv, const char *help, config *c, opts *o, vas_err *e)
{
    int rc;

    o->notify_fd = -1;
    /* First pass: the config file, so that flags override it whatever their order. */
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s%s", help, common_opts);
            exit(0);
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            o->config_path = argv[++i];
    }
    if (getenv("VAS_API_TOKEN") &&
        (rc = config_set(c, "API_TOKEN", getenv("VAS_API_TOKEN"), e)) < 0)
        return rc;
    if (o->config_path && (rc = config_load_file(c, o->config_path, e)) < 0)
        return rc;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        size_t k;
        if (!strcmp(a, "--embedded")) {
            o->embedded = 1;
            continue;
        }
        if (i + 1 >= argc)
            return err_set(e, VAS_EINVAL, "%s needs a value (see --help)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--config"))
            continue;
        if (!strcmp(a, "--port-file")) {
            o->port_file = v;
            continue;
        }
        if (!strcmp(a, "--notify-fd") || !strcmp(a, "--parent")) {
            int64_t n;
            if (util_parse_i64(v, &n) < 0 || n < 0 || n > INT_MAX)
                return err_set(e, VAS_EINVAL, "%s needs a number", a);
            *(a[2] == 'n' ? &o->notify_fd : &o->parent) = (int)n;
            continue;
        }
        for (k = 0; k < sizeof(flag_keys) / sizeof(flag_keys[0]); k++)
            if (!strcmp(a, flag_keys[k].flag))
                break;
        if (k == sizeof(flag_keys) / sizeof(flag_keys[0]))
            return err_set(e, VAS_EINVAL, "unknown option '%s' (see --help)", a);
        if ((rc = config_set(c, flag_keys[k].key, v, e)) < 0)
            return rc;
    }
    log_set_level(c->log_level);
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
    int requeued = 0, failed = 0;
    int rc = store_open(c->database, c->data_folder, &st, e);

    if (rc == VAS_OK)
        rc = store_analysis_recover(st, &requeued, &failed, e);
    if (rc == VAS_OK && (requeued || failed))
        log_warn("queue", "event=recovered requeued=%d failed=%d", requeued, failed);
    store_close(st);
    return rc;
}

static int cmd_serve(const config *c, const opts *o, vas_err *e)
{
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
        rc = supervisor_start(c, exe, &sup, e);
    if (rc == VAS_OK)
        rc = http_server_start(c, sup ? supervisor_notify : NULL, sup, &srv, e);
    if (rc == VAS_OK && o->port_file)
        rc = write_port_file(o->port_file, http_server_port(srv), e);
    if (rc == VAS_OK) {
        log_info("main", "event=listening url=http://%s:%d/ db=%s data=%s workers=%d", c->host,
                 http_server_port(srv), c->database, c->data_folder, c->workers);
        sigwait(&set, &sig);
        log_info("main", "event=stopping signal=%d", sig);
    }
    http_server_stop(srv);
    supervisor_stop(sup);
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

int main(int argc, char **argv)
{
    config c;
    opts o = {0};
    vas_err e = {0};
    const char *cmd = argc > 1 ? argv[1] : "";
    int rc;

    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") && strcmp(cmd, "init-db") && strcmp(cmd, "clean-up") &&
        strcmp(cmd, "worker")) {
        fprintf(stderr, "vas: %s%s%s\n%s", *cmd ? "unknown command '" : "no command given", cmd,
                *cmd ? "'" : "", usage);
        return 2;
    }
    if (config_defaults(&c, &e) < 0 ||
        parse_args(argc, argv,
                   !strcmp(cmd, "serve")     ? serve_help
                   : !strcmp(cmd, "worker")  ? "usage: vas worker --embedded [options]\n"
                   : !strcmp(cmd, "init-db") ? "usage: vas init-db [--config FILE] [options]\n"
                                             : "usage: vas clean-up [--config FILE] [options]\n",
                   &c, &o, &e) < 0) {
        fprintf(stderr, "vas %s: %s\n", cmd, e.msg);
        config_free(&c);
        return 2;
    }
    if (!strcmp(cmd, "serve"))
        rc = cmd_serve(&c, &o, &e);
    else if (!strcmp(cmd, "init-db"))
        rc = cmd_init_db(&c, &e);
    else if (!strcmp(cmd, "clean-up"))
        rc = cmd_clean_up(&c, &e);
    else if (!o.embedded)
        rc = err_set(&e, VAS_EUNSUPPORTED,
                     "only `vas worker --embedded` exists yet (Redis "
                     "workers come later)");
    else
        rc = worker_main(&c, o.notify_fd, o.parent, &e);
    if (rc < 0)
        fprintf(stderr, "vas %s: %s\n", cmd, e.msg);
    config_free(&c);
    return rc < 0 ? 1 : 0;
}
