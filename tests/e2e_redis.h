/* e2e_redis.h - the many-machines harness of e2e_redis.c: a real redis-server with a password
 * (rq_redis_fx.h; its log and data in the test's folder, bound also to the veth's address when a
 * test asks), a real `vas serve --queue redis://...` (e2e.h's server fixture) and real `vas worker
 * --redis` processes, each in its own process group so that a kill -9 takes the worker and its job
 * children together, as a machine that dies would; and a network namespace joined to this one by
 * a veth pair, for a worker on "another host".
 *
 * Owns: the processes it starts (teardown stops each worker by its process group and redis-server
 * by its pid through rqfx_kill, never by name) and the namespace it adds (deleted by teardown,
 * also when the test failed). Not: the server's fixture itself (e2e.h), nor how redis-server is
 * started and found ready (rq_redis_fx.h). Header-only, like e2e.h; include after it.
 * Threads: cmocka's one thread. */
#ifndef VAS_E2E_REDIS_H
#define VAS_E2E_REDIS_H

#include "rq_redis_fx.h"

#define ER_PASSWORD   "rq-e2e-pw"
#define ER_TOKEN      "rq-e2e-token"
#define ER_MAX_W      4
#define ER_UP_S       60.0 /* a worker under ASan loading the demo model takes a while */
#define ER_BEAT_TTL_S 15.0 /* docs/redis-queue.md: vas:worker:<name> EX 15 */

typedef struct er_worker {
    char name[32];
    char log[E2E_PATH];
    char dir[E2E_PATH]; /* its own data folder and cache database */
    pid_t pid;          /* also its process group; 0 when stopped */
} er_worker;

typedef struct er_fix {
    e2e_srv *s; /* the server fixture (e2e.h), started by er_up */
    rqfx redis; /* its url is what the server and local workers use; bind may add the veth's */
    const char *args[16]; /* the server's extra arguments (pointing into this struct) */
    char port_arg[16];    /* the server's port after its first start, so a restart keeps it */
    er_worker w[ER_MAX_W];
    int n_w;
    char ns[32];      /* the network namespace, "" when none */
    char veth[16];    /* its host-side interface */
    char host_ip[32]; /* this side of the veth pair; the namespace's side is .2 */
    char ns_ip[32];
} er_fix;

/* ---- processes ---- */

/* Forks and execs argv[0] (PATH searched) in a new process group, output appended to out; the
 * pid (= its group), or -1. */
static inline pid_t er_spawn(const char *const *argv, const char *out)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    setpgid(0, 0);
    int fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(126);
    execvp(argv[0], (char *const *)argv);
    dprintf(2, "e2e: cannot exec %s: errno %d\n", argv[0], errno);
    _exit(127);
}

/* Signals pid's process group and waits up to timeout_s; its status, or -1 (then SIGKILLed). */
static inline int er_kill_wait(pid_t pid, int sig, double timeout_s)
{
    int st;

    if (pid <= 0)
        return 0;
    kill(-pid, sig);
    st = e2e_wait_pid(pid, timeout_s);
    if (st < 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return st;
}

/* kill -9 of worker i and its job processes (its whole group), as a machine that dies. */
static inline void er_worker_kill9(er_fix *f, int i)
{
    er_kill_wait(f->w[i].pid, SIGKILL, 5);
    f->w[i].pid = 0;
}

/* ---- vas worker ---- */

/* Starts `vas worker --redis` named name, concurrency 1, models from the folder models; in f->ns
 * when in_ns (reaching Redis and the server through the veth pair). Returns its index in f->w. */
static inline int er_worker_start(er_fix *f, const char *name, const char *models, int in_ns)
{
    er_worker *w = &f->w[f->n_w];
    char url[128], server[96], data[E2E_PATH + 16];
    const char *ip = in_ns ? f->host_ip : "127.0.0.1";
    const char *argv[32];
    int n = 0;

    assert_true(f->n_w < ER_MAX_W);
    snprintf(w->name, sizeof(w->name), "%s", name);
    snprintf(w->dir, sizeof(w->dir), "%s/%s", f->s->dir, name);
    snprintf(w->log, sizeof(w->log), "%s/%s.log", f->s->dir, name);
    assert_int_equal(mkdir(w->dir, 0755), 0);
    snprintf(data, sizeof(data), "%s/data", w->dir);
    snprintf(url, sizeof(url), "redis://:%s@%s:%d/0", ER_PASSWORD, ip, f->redis.port);
    snprintf(server, sizeof(server), "http://%s:%d", ip, f->s->port);
    if (in_ns) {
        static const char *const pre[] = {"ip", "netns", "exec"};
        for (size_t i = 0; i < 3; i++)
            argv[n++] = pre[i];
        argv[n++] = f->ns;
    }
    const char *rest[] = {e2e_bin(),  "worker", "--redis", url,  "--server",      server,
                          "--token",  ER_TOKEN, "--name",  name, "--concurrency", "1",
                          "--models", models,   "--data",  data};
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
        argv[n++] = rest[i];
    argv[n] = NULL;
    w->pid = er_spawn(argv, w->log);
    assert_true(w->pid > 0);
    return f->n_w++;
}

/* GET /workers into *r (asserts 200 and a JSON array). */
static inline void er_get_workers(er_fix *f, e2e_resp *r)
{
    e2e_get(f->s, "/workers", r);
    e2e_assert_status(r, 200);
    assert_true(json_is_array(r->json));
}

/* The advertisement of worker name in a GET /workers array, or NULL. */
static inline const json_t *er_find_worker(const json_t *list, const char *name)
{
    size_t i;
    const json_t *w;

    json_array_foreach(list, i, w)
    {
        const json_t *n = json_object_get(w, "name");
        if (json_is_string(n) && !strcmp(json_string_value(n), name))
            return w;
    }
    return NULL;
}

/* Waits until GET /workers lists (want=1) or no longer lists (want=0) name; the seconds it took.
 * Fails the test after timeout_s. */
static inline double er_wait_listed(er_fix *f, const char *name, int want, double timeout_s)
{
    double t0 = e2e_now();

    for (;;) {
        e2e_resp r;
        er_get_workers(f, &r);
        int listed = er_find_worker(r.json, name) != NULL;
        e2e_resp_free(&r);
        if (listed == want)
            return e2e_now() - t0;
        if (e2e_now() - t0 > timeout_s)
            fail_msg("worker %s still %slisted by GET /workers after %.1f s", name,
                     want ? "not " : "", timeout_s);
        tu_nap_ms(100);
    }
}

/* Prints a worker's log tail (a failed test's evidence). */
static inline void er_dump(const char *what, const char *path)
{
    size_t n = 0;
    char *text = tu_read_file(path, &n);
    size_t from = n > 8192 ? n - 8192 : 0;

    fprintf(stderr, "---- %s: %s ----\n%s\n---- end ----\n", what, path,
            text ? text + from : "(unreadable)");
    free(text);
}

/* A sanitizer report in a log. */
static inline int er_log_has_report(const char *path)
{
    char *text = tu_read_file(path, NULL);
    int bad = text && (strstr(text, "runtime error:") || strstr(text, "LeakSanitizer") ||
                       strstr(text, "ERROR: AddressSanitizer"));

    free(text);
    return bad;
}

/* ---- a network namespace: another host on a veth link ---- */

/* Runs a command line through /bin/sh, output to the fixture's netns.log; its exit status. */
static inline int er_sh(er_fix *f, const char *fmt, ...)
{
    char cmd[1024], out[E2E_PATH];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(out, sizeof(out), "%s/netns.log", f->s->dir);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid = er_spawn(argv, out);
    return pid < 0 ? -1 : e2e_wait_pid(pid, 20);
}

/* Adds namespace vas-rqt-<pid> joined by a veth pair, 10.231.<k>.1 here and .2 there; 0, or -1
 * with why in the log. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN). */
static inline int er_netns_up(er_fix *f)
{
    int pid = (int)getpid(), k = pid % 250 + 1;

    snprintf(f->ns, sizeof(f->ns), "vas-rqt-%d", pid);
    snprintf(f->veth, sizeof(f->veth), "vrq%da", pid % 10000000);
    snprintf(f->host_ip, sizeof(f->host_ip), "10.231.%d.1", k);
    snprintf(f->ns_ip, sizeof(f->ns_ip), "10.231.%d.2", k);
    if (er_sh(f, "ip netns add %s", f->ns) != 0) {
        f->ns[0] = '\0';
        return -1;
    }
    return er_sh(f,
                 "set -e; ip link add %s type veth peer name vrq%db netns %s;"
                 "ip addr add %s/24 dev %s; ip link set %s up;"
                 "ip -n %s addr add %s/24 dev vrq%db; ip -n %s link set vrq%db up;"
                 "ip -n %s link set lo up",
                 f->veth, pid % 10000000, f->ns, f->host_ip, f->veth, f->veth, f->ns, f->ns_ip,
                 pid % 10000000, f->ns, pid % 10000000, f->ns) == 0
               ? 0
               : -1;
}

/* Deletes the namespace (its end of the veth pair goes with it, and so the pair). */
static inline void er_netns_down(er_fix *f)
{
    if (!f->ns[0])
        return;
    er_sh(f, "ip netns del %s; ip link del %s 2>/dev/null; true", f->ns, f->veth);
    f->ns[0] = '\0';
}

/* One counter of the host side of the veth pair (rx_bytes, tx_bytes). */
static inline long long er_veth_stat(er_fix *f, const char *what)
{
    char path[128];
    char *text;
    long long v;

    snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", f->veth, what);
    text = tu_read_file(path, NULL);
    v = text ? strtoll(text, NULL, 10) : -1;
    free(text);
    return v;
}

/* ---- the fixture ---- */

static inline int er_setup(void **state)
{
    er_fix *f = calloc(1, sizeof(*f));
    void *inner = NULL;

    if (!f || rqfx_init(&f->redis, ER_PASSWORD) < 0 || e2e_setup_dir(&inner) < 0)
        return free(f), -1;
    f->s = inner;
    f->s->token = ER_TOKEN;
    snprintf(f->redis.log, sizeof(f->redis.log), "%s/redis.log", f->s->dir);
    snprintf(f->redis.dir, sizeof(f->redis.dir), "%s", f->s->dir);
    *state = f;
    return 0;
}

/* Starts redis-server, `vas serve --queue <url> --workers 0 --token T --models models` (host:
 * --host, NULL for loopback) and n workers w1..wn of concurrency 1 on loopback, and waits until
 * GET /workers lists them all. Skips the test when redis-server is not installed. */
static inline void er_up(er_fix *f, int n, const char *host)
{
    int k = 0;

    if (!rqfx_available()) {
        printf("skipped %s: no %s (apt-get install redis-server)\n", "e2e_redis", RQFX_SERVER);
        E2E_PASS(f->s); /* nothing ran: no log to show */
        skip();
    }
    assert_int_equal(rqfx_start(&f->redis), 0);
    const char *fixed[] = {"--queue", f->redis.url, "--workers", "0",
                           "--token", ER_TOKEN,     "--models",  "models"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        f->args[k++] = fixed[i];
    if (host) {
        f->args[k++] = "--host";
        f->args[k++] = host;
    }
    f->args[k] = NULL;
    f->s->args = f->args;
    assert_int_equal(e2e_start(f->s), 0);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "w%d", i + 1);
        er_worker_start(f, name, "models", 0);
    }
    for (int i = 0; i < n; i++)
        er_wait_listed(f, f->w[i].name, 1, ER_UP_S);
}

/* Stops the server (SIGTERM) and starts it again on the same port, data and Redis. */
static inline void er_restart_server(er_fix *f, double down_s)
{
    int k = 0;

    assert_int_equal(e2e_stop(f->s), 0);
    tu_nap_ms((long)(down_s * 1000));
    if (!f->port_arg[0]) {
        snprintf(f->port_arg, sizeof(f->port_arg), "%d", f->s->port);
        while (f->args[k])
            k++;
        f->args[k++] = "--port"; /* flags apply in order: this one overrides e2e's --port 0 */
        f->args[k++] = f->port_arg;
        f->args[k] = NULL;
    }
    assert_int_equal(e2e_start(f->s), 0);
}

/* Stops workers (SIGTERM to each group), Redis, the namespace and the server; prints the logs of
 * a failed test, or of any process that left a sanitizer report. */
static inline int er_teardown(void **state)
{
    er_fix *f = *state;
    int rc = 0;

    if (!f)
        return 0;
    for (int i = 0; i < f->n_w; i++) {
        er_worker *w = &f->w[i];
        int st = er_kill_wait(w->pid, SIGTERM, E2E_STOP_S);
        if (w->pid > 0 && st != 0) {
            fprintf(stderr, "e2e: worker %s exited with status %d after SIGTERM\n", w->name, st);
            rc = -1;
        }
        if (er_log_has_report(w->log)) {
            fprintf(stderr, "e2e: worker %s's log holds a sanitizer report\n", w->name);
            rc = -1;
        }
        if (rc < 0 || !f->s->passed)
            er_dump(w->name, w->log);
        w->pid = 0;
    }
    rqfx_kill(&f->redis);
    if (f->ns[0] && !f->s->passed) {
        char path[E2E_PATH];
        snprintf(path, sizeof(path), "%s/netns.log", f->s->dir);
        er_dump("ip netns", path);
    }
    er_netns_down(f);
    void *inner = f->s;
    if (e2e_teardown(&inner) < 0)
        rc = -1;
    free(f);
    *state = NULL;
    return rc;
}

#define ER_TEST(fn) cmocka_unit_test_setup_teardown(fn, er_setup, er_teardown)

#endif
