/* rq_redis_fx.h - a real redis-server for tests: started as a child on a free loopback port with
 * no persistence (`--save '' --appendonly no`), optionally `--requirepass`, killed and started
 * again on the same port, torn down at the end. Header-only, like testutil.h.
 * Threads: one test thread; rqfx_restart_after may be run on a second thread. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RQFX_SERVER "/usr/bin/redis-server"

typedef struct rqfx {
    pid_t pid;         /* the running redis-server, 0 when none */
    int port;          /* its loopback port, kept across restarts */
    char password[64]; /* "" for none */
    char url[160];     /* redis://[:pw@]127.0.0.1:port/0 */
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
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static inline int rqfx_accepts(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    if (fd < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static inline void rqfx_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts redis-server on f->port; waits up to 5 s for it to accept. 0 ok, -1 failed. */
static inline int rqfx_start(rqfx *f)
{
    extern char **environ;
    char port[16];
    const char *argv[16];
    int n = 0;
    posix_spawn_file_actions_t fa;

    snprintf(port, sizeof(port), "%d", f->port);
    argv[n++] = RQFX_SERVER;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    if (f->password[0]) {
        argv[n++] = "--requirepass";
        argv[n++] = f->password;
    }
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addchdir_np(&fa, "/tmp");
    int rc = posix_spawn(&f->pid, RQFX_SERVER, &fa, NULL, (char **)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        f->pid = 0;
        return -1;
    }
    for (int i = 0; i < 500; i++) {
        if (rqfx_accepts(f->port))
            return 0;
        rqfx_sleep_ms(10);
    }
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

/* Picks a free port, fills f->url and starts the server. password may be NULL. */
static inline int rqfx_setup(rqfx *f, const char *password)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->password, sizeof(f->password), "%s", password ? password : "");
    f->port = rqfx_free_port();
    if (f->port < 0)
        return -1;
    snprintf(f->url, sizeof(f->url), "redis://%s%s%s127.0.0.1:%d/0", f->password[0] ? ":" : "",
             f->password, f->password[0] ? "@" : "", f->port);
    return rqfx_start(f);
}

#endif
