/* rq_redis_fx.h - the one real redis-server of the tests (test_rq_redis.c, e2e_rq_server.c,
 * e2e_rq_world.h, e2e_redis.h): started as a child on a free loopback port with no persistence
 * (`--save '' --appendonly no`), optionally `--requirepass`, bound to 127.0.0.1 or to more
 * addresses, its output to /dev/null or a log file, its working folder (`--dir`) /tmp or one
 * given; ready once it answers PING; killed and started again on the same port, torn down at the
 * end. Owns: the redis-server it starts (killed by pid). Header-only, like testutil.h.
 * Threads: one test thread; rqfx_start may be run on a second thread while the first waits. */
#ifndef VAS_RQ_REDIS_FX_H
#define VAS_RQ_REDIS_FX_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RQFX_SERVER "/usr/bin/redis-server"
#define RQFX_UP_S   10 /* how long rqfx_start waits for PONG */
#define RQFX_PATH   4096

typedef struct rqfx {
    pid_t pid;           /* the running redis-server, 0 when none */
    int port;            /* its port, kept across restarts */
    char password[64];   /* "" for none */
    char url[160];       /* redis://[:pw@]127.0.0.1:port/0 */
    char bind[64];       /* what it listens on, "" for 127.0.0.1; must hold 127.0.0.1 */
    char log[RQFX_PATH]; /* its output, appended; "" for /dev/null */
    char dir[RQFX_PATH]; /* its working folder (--dir); "" for /tmp */
} rqfx;

static inline int rqfx_available(void)
{
    return access(RQFX_SERVER, X_OK) == 0;
}

/* A port nothing listens on now (bind to 0, read it back, close). */
static inline int rqfx_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* 1 when the redis-server on f->port answers (AUTH password +) PING with +PONG: inline commands,
 * one round, 1 s at the most for the answer. */
static inline int rqfx_ping(const rqfx *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)f->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 1};
    char buf[256] = "", cmd[128];
    size_t have = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
    int n = snprintf(cmd, sizeof(cmd), "%s%s%sPING\r\n", f->password[0] ? "AUTH " : "", f->password,
                     f->password[0] ? "\r\n" : "");

    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, cmd, (size_t)n) == n) {
        while (!ok && have < sizeof(buf) - 1) {
            ssize_t k = read(fd, buf + have, sizeof(buf) - 1 - have);
            if (k <= 0)
                break;
            have += (size_t)k;
            buf[have] = '\0';
            ok = strstr(buf, "+PONG\r\n") != NULL;
        }
    }
    close(fd);
    return ok;
}

static inline void rqfx_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline double rqfx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts redis-server on f->port; waits up to RQFX_UP_S for it to answer PING. 0 ok, -1 failed
 * (said on stderr; a server that started but did not answer stays in f->pid for rqfx_kill). */
static inline int rqfx_start(rqfx *f)
{
    extern char **environ;
    char port[16];
    const char *bind = f->bind[0] ? f->bind : "127.0.0.1", *dir = f->dir[0] ? f->dir : "/tmp";
    const char *argv[] = {
        RQFX_SERVER, "--port",       port, "--bind",      bind, "--save", "",   "--dir",
        dir,         "--appendonly", "no", "--daemonize", "no", NULL,     NULL, NULL};
    posix_spawn_file_actions_t fa;
    double end = rqfx_now() + RQFX_UP_S;

    snprintf(port, sizeof(port), "%d", f->port);
    if (f->password[0]) { /* into the first two of the three NULLs */
        argv[13] = "--requirepass";
        argv[14] = f->password;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, f->log[0] ? f->log : "/dev/null",
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&f->pid, RQFX_SERVER, &fa, NULL, (char **)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        f->pid = 0;
        fprintf(stderr, "rqfx: cannot start %s: error %d\n", RQFX_SERVER, rc);
        return -1;
    }
    while (rqfx_now() < end) {
        if (rqfx_ping(f))
            return 0;
        if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
            f->pid = 0; /* it exited (port taken, a bad argument...): reaped */
            break;
        }
        rqfx_sleep_ms(10);
    }
    fprintf(stderr, "rqfx: redis-server did not answer on port %d\n", f->port);
    return -1;
}

/* Kills redis-server (SIGKILL: everything it held is gone) and reaps it. */
static inline void rqfx_kill(rqfx *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
}

/* Clears f, takes the password (NULL for none), picks a free port and fills f->url; starts
 * nothing, so that bind, log and dir may be set before rqfx_start. 0 ok, -1 no port. */
static inline int rqfx_init(rqfx *f, const char *password)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->password, sizeof(f->password), "%s", password ? password : "");
    f->port = rqfx_free_port();
    if (f->port < 0)
        return -1;
    snprintf(f->url, sizeof(f->url), "redis://%s%s%s127.0.0.1:%d/0", f->password[0] ? ":" : "",
             f->password, f->password[0] ? "@" : "", f->port);
    return 0;
}

/* rqfx_init, then rqfx_start with the defaults. password may be NULL. */
static inline int rqfx_setup(rqfx *f, const char *password)
{
    return rqfx_init(f, password) < 0 ? -1 : rqfx_start(f);
}

#endif
