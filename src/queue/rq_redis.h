/* rq_redis.h - one connection to Redis for the job protocol of docs/redis-queue.md: the
 * redis:// URL, connect with a timeout, AUTH, SELECT, commands that survive a lost connection
 * (reconnect with back-off, 100 ms doubling to 5 s, until the caller's deadline, then retry
 * once), and the stream/key helpers the server (rq_server) and workers share.
 * Owns: the hiredis context. Not: what the keys mean (rq_server.c, the workers).
 * Threads: an rq_redis is used by one thread at a time; open one per thread. The password is
 * never logged nor put in an error message. */
#ifndef VAS_RQ_REDIS_H
#define VAS_RQ_REDIS_H

#include "core/err.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdatomic.h>

#define RQ_REDIS_PORT 6379
/* docs/redis-queue.md: the life of vas:worker:<name> (EX), so a worker silent this long is dead;
 * the worker sets it, the server's GET /workers and reaper read it. */
#define RQ_WORKER_TTL_S   15
#define RQ_REDIS_HOST_MAX 256
#define RQ_REDIS_PASS_MAX 256

/* A parsed redis://[:PASSWORD@]HOST[:PORT][/DB] URL (user names before ':' are accepted and
 * ignored, as Celery does). */
typedef struct rq_redis_url {
    char host[RQ_REDIS_HOST_MAX];
    int port;                         /* default RQ_REDIS_PORT */
    int db;                           /* default 0 */
    char password[RQ_REDIS_PASS_MAX]; /* "" when none */
} rq_redis_url;

/* Parses url (borrowed) into *out. VAS_EINVAL, saying why, for another scheme or a bad part;
 * the message never contains the password. */
int rq_redis_url_parse(const char *url, rq_redis_url *out, vas_err *e);
/* The URL for logs: "redis://HOST:PORT/DB", ":***@" in place of a password. */
void rq_redis_url_safe(const rq_redis_url *u, char *out, size_t n);

typedef struct rq_redis rq_redis;

/* Connects (2 s timeout), AUTHs and SELECTs. retry_ms: how long a later command keeps
 * reconnecting after a lost connection before it gives up (VAS_EIO). stop (borrowed, may be
 * NULL): set by another thread, it cuts a back-off short. New connection in *out (caller frees:
 * rq_redis_free). VAS_EAUTH when Redis refuses the password or wants one. */
int rq_redis_connect(const char *url, int retry_ms, const atomic_bool *stop, rq_redis **out,
                     vas_err *e);
void rq_redis_free(rq_redis *r);
/* Reconnections done so far (for logs and tests). */
int rq_redis_reconnects(const rq_redis *r);

/* Runs one command (printf-like, hiredis's %s and %b). New reply in *out (caller frees:
 * freeReplyObject), never an error reply: a Redis error becomes VAS_EIO with its text
 * (VAS_EAUTH for NOAUTH/WRONGPASS). A lost connection is reconnected with back-off and the
 * command sent once more. */
int rq_redis_cmd(rq_redis *r, redisReply **out, vas_err *e, const char *fmt, ...);
/* The same with an argument vector (lens may be NULL: strlen). */
int rq_redis_cmd_argv(rq_redis *r, int argc, const char **argv, const size_t *lens,
                      redisReply **out, vas_err *e);

/* ---- helpers ---- */
/* XADD stream [MAXLEN ~ maxlen] * k1 v1 k2 v2 ... (n_kv strings; maxlen <= 0: no cap); the new
 * entry's id into id_out[n] (optional). */
int rq_redis_xadd(rq_redis *r, const char *stream, long maxlen, int n_kv, const char *const *kv,
                  char *id_out, size_t n, vas_err *e);
/* XADD stream * field <compact JSON of v>. v borrowed. */
int rq_redis_xadd_json(rq_redis *r, const char *stream, long maxlen, const char *field,
                       const json_t *v, char *id_out, size_t n, vas_err *e);
/* XGROUP CREATE stream group 0 MKSTREAM; a group already there (BUSYGROUP) is fine. */
int rq_redis_group_create(rq_redis *r, const char *stream, const char *group, vas_err *e);

/* One stream entry read by rq_redis_read_one. */
typedef struct rq_redis_entry {
    char stream[256];
    char id[64];
    json_t *fields; /* owned: object field -> string */
} rq_redis_entry;
void rq_redis_entry_clear(rq_redis_entry *en);
/* A field of en as a string, NULL when absent. Borrowed while en lives. */
const char *rq_redis_entry_get(const rq_redis_entry *en, const char *field);

/* XREADGROUP GROUP group consumer COUNT 1 [BLOCK block_ms] STREAMS s1..sn id..id (from: ">"
 * for new entries, "0" for this consumer's own pending ones; block_ms < 0: no BLOCK). Streams or
 * group missing (NOGROUP, Redis restarted) are created and the read tried again. Fills *out (clear
 * it) or returns VAS_ENOTFOUND when nothing came. An entry deleted while pending comes back with
 * no fields: its id is set and en->fields is an empty object. */
int rq_redis_read_one(rq_redis *r, const char *group, const char *consumer, int block_ms,
                      int n_streams, const char *const *streams, const char *from,
                      rq_redis_entry *out, vas_err *e);
/* The same for up to max entries (COUNT max) into out[0..*n) (clear each). */
int rq_redis_read(rq_redis *r, const char *group, const char *consumer, int block_ms, int max,
                  int n_streams, const char *const *streams, const char *from, rq_redis_entry *out,
                  int *n, vas_err *e);

/* Pipelines: rq_redis_append queues commands (reconnecting first if the connection is down);
 * rq_redis_pipe sends them and reads their n replies into out[0..n) (caller frees each; an
 * error reply is kept as a reply of type REDIS_REPLY_ERROR). On a lost connection it returns
 * VAS_EIO without retrying: which of the commands ran is unknown, so the caller must be able to
 * run them again; the next command reconnects. */
int rq_redis_append(rq_redis *r, int argc, const char **argv, vas_err *e);
int rq_redis_pipe(rq_redis *r, int n, redisReply **out, vas_err *e);

/* SET key value EX ex_s. */
int rq_redis_set_ex(rq_redis *r, const char *key, const char *value, int ex_s, vas_err *e);
/* EXISTS key into *exists (0/1). */
int rq_redis_exists(rq_redis *r, const char *key, int *exists, vas_err *e);
/* XACK stream group id, then XDEL stream id. */
int rq_redis_ack_del(rq_redis *r, const char *stream, const char *group, const char *id,
                     vas_err *e);

#endif
