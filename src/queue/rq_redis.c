/* rq_redis.c - the Redis connection of the job protocol: URL, connect, AUTH/SELECT, commands
 * that reconnect with back-off, stream helpers. See rq_redis.h.
 *
 * DESIGN: hiredis marks a context dead (ctx->err) on any I/O error and never recovers it, so a
 * lost connection is one where the command returned NULL or ctx->err is set; the context is then
 * thrown away and a new one made (with AUTH and SELECT again), sleeping 100 ms, 200 ms, ... up to
 * 5 s between tries until retry_ms has passed. The command is then sent once more: a command whose
 * reply was lost may thus run twice, which the protocol's state checks make harmless. */
#include "queue/rq_redis.h"

#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECT_TIMEOUT_MS 2000
#define IO_TIMEOUT_MS      10000 /* longer than any BLOCK the protocol uses */
#define BACKOFF_FIRST_MS   100
#define BACKOFF_MAX_MS     5000

struct rq_redis {
    redisContext *c;         /* NULL while disconnected */
    rq_redis_url url;        /* what to reconnect to */
    int retry_ms;            /* how long to keep reconnecting */
    const atomic_bool *stop; /* cuts a back-off short; may be NULL */
    int reconnects;          /* successful reconnections */
};

/* ---- URL ---- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decodes p[0..n) into out[cap]; -1 when it does not fit or an escape is bad. */
static int pct_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)p[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

static int parse_int(const char *p, size_t n, int lo, int hi, int *out)
{
    char buf[16];
    int64_t v;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (util_parse_i64(buf, &v) < 0 || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* HOST[:PORT] from p[0..n) ("[v6]" brackets allowed). */
static int parse_hostport(const char *p, size_t n, rq_redis_url *u, vas_err *e)
{
    const char *colon = NULL, *hs = p;
    size_t hn;

    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb)
            return err_set(e, VAS_EINVAL, "Redis URL: unclosed '[' in the host");
        hs = p + 1;
        hn = (size_t)(rb - hs);
        if (rb + 1 < p + n) {
            if (rb[1] != ':')
                return err_set(e, VAS_EINVAL, "Redis URL: junk after the host's ']'");
            colon = rb + 1;
        }
    } else {
        colon = memchr(p, ':', n);
        hn = colon ? (size_t)(colon - p) : n;
    }
    if (hn == 0 || hn >= sizeof(u->host))
        return err_set(e, VAS_EINVAL, "Redis URL: the host is empty or too long");
    memcpy(u->host, hs, hn);
    u->host[hn] = '\0';
    if (colon && parse_int(colon + 1, (size_t)(p + n - colon - 1), 1, 65535, &u->port) < 0)
        return err_set(e, VAS_EINVAL, "Redis URL: the port must be a number from 1 to 65535");
    return VAS_OK;
}

int rq_redis_url_parse(const char *url, rq_redis_url *out, vas_err *e)
{
    static const char scheme[] = "redis://";
    rq_redis_url u = {.port = RQ_REDIS_PORT};
    const char *p, *at, *slash, *end;
    int rc;

    if (!url || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0)
        return err_set(e, VAS_EINVAL,
                       "the queue URL must start with redis:// (redis://[:PASSWORD@]HOST:PORT/DB); "
                       "rediss://, unix:// and other brokers are not supported");
    p = url + sizeof(scheme) - 1;
    end = p + strcspn(p, "?#");
    slash = memchr(p, '/', (size_t)(end - p));
    at = memrchr(p, '@', (size_t)((slash ? slash : end) - p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p; /* redis://PASSWORD@host, as redis-py reads it */
        if (pct_decode(pw, (size_t)(at - pw), u.password, sizeof(u.password)) < 0)
            return err_set(e, VAS_EINVAL, "Redis URL: the password is too long or badly escaped");
        p = at + 1;
    }
    rc = parse_hostport(p, (size_t)((slash ? slash : end) - p), &u, e);
    if (rc < 0)
        return rc;
    if (slash && slash + 1 < end &&
        parse_int(slash + 1, (size_t)(end - slash - 1), 0, INT_MAX, &u.db) < 0)
        return err_set(e, VAS_EINVAL, "Redis URL: the database after '/' must be a number");
    *out = u;
    return VAS_OK;
}

void rq_redis_url_safe(const rq_redis_url *u, char *out, size_t n)
{
    int v6 = strchr(u->host, ':') != NULL;

    snprintf(out, n, "redis://%s%s%s%s:%d/%d", u->password[0] ? ":***@" : "", v6 ? "[" : "",
             u->host, v6 ? "]" : "", u->port, u->db);
}

/* ---- connection ---- */

static int is_auth_error(const char *msg)
{
    return strncmp(msg, "NOAUTH", 6) == 0 || strncmp(msg, "WRONGPASS", 9) == 0 ||
           strstr(msg, "invalid password") != NULL;
}

/* A reply that is an error -> VAS_EIO/VAS_EAUTH (reply freed); else VAS_OK. */
static int reply_check(redisReply *rep, const char *what, vas_err *e)
{
    int code;

    if (rep->type != REDIS_REPLY_ERROR)
        return VAS_OK;
    code = is_auth_error(rep->str) ? VAS_EAUTH : VAS_EIO;
    err_set(e, code, "Redis refused %s: %s", what, rep->str);
    freeReplyObject(rep);
    return code;
}

/* One command of the connection's greeting (AUTH, SELECT) on a fresh context. */
static int greet(redisContext *c, const char *what, vas_err *e, const char *fmt, ...)
{
    redisReply *rep;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!rep)
        return err_set(e, VAS_EIO, "Redis closed the connection during %s", what);
    rc = reply_check(rep, what, e);
    if (rc == VAS_OK)
        freeReplyObject(rep);
    return rc;
}

/* One connection attempt with AUTH and SELECT; on success r->c is set. */
static int dial(rq_redis *r, vas_err *e)
{
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, 0}, io = {IO_TIMEOUT_MS / 1000, 0};
    redisContext *c = redisConnectWithTimeout(r->url.host, r->url.port, tv);
    int rc;

    if (!c)
        return err_set(e, VAS_ENOMEM, "out of memory connecting to Redis");
    if (c->err) {
        rc = err_set(e, VAS_EIO, "cannot connect to Redis at %s:%d: %s", r->url.host, r->url.port,
                     c->errstr);
        goto fail;
    }
    redisSetTimeout(c, io);
    if (r->url.password[0] &&
        (rc = greet(c, "the password (AUTH)", e, "AUTH %s", r->url.password)) < 0)
        goto fail;
    if ((rc = greet(c, "SELECT of the database", e, "SELECT %d", r->url.db)) < 0)
        goto fail;
    r->c = c;
    return VAS_OK;
fail:
    redisFree(c);
    return rc;
}

/* Sleeps ms unless stop is set (then returns -1). */
static int nap(const rq_redis *r, int ms)
{
    for (int slept = 0; slept < ms; slept += 20) {
        if (r->stop && atomic_load(r->stop))
            return -1;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Drops the dead context and dials until it works or retry_ms has passed. */
static int reconnect(rq_redis *r, vas_err *e)
{
    int64_t deadline = util_mono_ms() + r->retry_ms;
    int wait = BACKOFF_FIRST_MS, rc;
    char safe[512];

    redisFree(r->c);
    r->c = NULL;
    rq_redis_url_safe(&r->url, safe, sizeof(safe));
    for (;;) {
        rc = dial(r, e);
        if (rc == VAS_OK) {
            r->reconnects++;
            log_info("redis", "event=reconnected url=%s", safe);
            return VAS_OK;
        }
        if (rc == VAS_EAUTH || util_mono_ms() + wait > deadline)
            break;
        log_warn("redis", "event=reconnect_wait url=%s ms=%d error=\"%s\"", safe, wait, e->msg);
        if (nap(r, wait) < 0)
            return err_set(e, VAS_EIO, "stopped while reconnecting to Redis at %s", safe);
        wait = wait * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait * 2;
    }
    return rc == VAS_EAUTH ? rc
                           : err_set(e, VAS_EIO, "Redis at %s unreachable for %d ms: %s", safe,
                                     r->retry_ms, e->msg);
}

int rq_redis_connect(const char *url, int retry_ms, const atomic_bool *stop, rq_redis **out,
                     vas_err *e)
{
    rq_redis *r = calloc(1, sizeof(*r));
    int rc;

    if (!r)
        return err_set(e, VAS_ENOMEM, "out of memory");
    rc = rq_redis_url_parse(url, &r->url, e);
    if (rc == VAS_OK) {
        r->retry_ms = retry_ms < 0 ? 0 : retry_ms;
        r->stop = stop;
        rc = dial(r, e);
    }
    if (rc < 0) {
        rq_redis_free(r);
        return rc;
    }
    *out = r;
    return VAS_OK;
}

void rq_redis_free(rq_redis *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    explicit_bzero(r->url.password, sizeof(r->url.password));
    free(r);
}

int rq_redis_reconnects(const rq_redis *r)
{
    return r->reconnects;
}

/* Sends argv on a live connection; NULL reply = connection lost. */
static redisReply *send_argv(rq_redis *r, int argc, const char **argv, const size_t *lens)
{
    if (!r->c)
        return NULL;
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    return r->c->err ? (freeReplyObject(rep), NULL) : rep;
}

int rq_redis_cmd_argv(rq_redis *r, int argc, const char **argv, const size_t *lens,
                      redisReply **out, vas_err *e)
{
    redisReply *rep = send_argv(r, argc, argv, lens);
    int rc;

    if (!rep) {
        rc = reconnect(r, e);
        if (rc < 0)
            return rc;
        rep = send_argv(r, argc, argv, lens);
        if (!rep)
            return err_set(e, VAS_EIO, "Redis connection lost during %s: %s", argv[0],
                           r->c ? r->c->errstr : "closed");
    }
    rc = reply_check(rep, argv[0], e);
    if (rc < 0)
        return rc;
    *out = rep;
    return VAS_OK;
}

/* Sends a formatted command on a live connection; NULL reply = connection lost. */
static redisReply *send_fmt(rq_redis *r, const char *fmt, va_list ap)
{
    va_list cp;
    redisReply *rep;

    if (!r->c)
        return NULL;
    va_copy(cp, ap);
    rep = redisvCommand(r->c, fmt, cp);
    va_end(cp);
    return r->c->err ? (freeReplyObject(rep), NULL) : rep;
}

int rq_redis_cmd(rq_redis *r, redisReply **out, vas_err *e, const char *fmt, ...)
{
    char what[32];
    redisReply *rep;
    va_list ap;
    int rc = VAS_OK;

    snprintf(what, sizeof(what), "%.*s", (int)strcspn(fmt, " "), fmt);
    va_start(ap, fmt);
    rep = send_fmt(r, fmt, ap);
    if (!rep) {
        rc = reconnect(r, e);
        if (rc == VAS_OK && !(rep = send_fmt(r, fmt, ap)))
            rc = err_set(e, VAS_EIO, "Redis connection lost during %s", what);
    }
    va_end(ap);
    if (rc == VAS_OK)
        rc = reply_check(rep, what, e);
    if (rc == VAS_OK)
        *out = rep;
    return rc;
}

/* ---- helpers ---- */

int rq_redis_xadd(rq_redis *r, const char *stream, long maxlen, int n_kv, const char *const *kv,
                  char *id_out, size_t n, vas_err *e)
{
    const char *argv[64];
    char cap[32];
    redisReply *rep = NULL;
    int argc = 0, rc;

    if (n_kv < 2 || n_kv % 2 || n_kv > 56)
        return err_set(e, VAS_EINVAL, "XADD needs field/value pairs");
    argv[argc++] = "XADD";
    argv[argc++] = stream;
    if (maxlen > 0) {
        snprintf(cap, sizeof(cap), "%ld", maxlen);
        argv[argc++] = "MAXLEN";
        argv[argc++] = "~";
        argv[argc++] = cap;
    }
    argv[argc++] = "*";
    for (int i = 0; i < n_kv; i++)
        argv[argc++] = kv[i];
    rc = rq_redis_cmd_argv(r, argc, argv, NULL, &rep, e);
    if (rc < 0)
        return rc;
    if (id_out && n)
        snprintf(id_out, n, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "");
    freeReplyObject(rep);
    return VAS_OK;
}

int rq_redis_xadd_json(rq_redis *r, const char *stream, long maxlen, const char *field,
                       const json_t *v, char *id_out, size_t n, vas_err *e)
{
    char *txt = json_dumps(v, JSON_COMPACT);
    int rc;

    if (!txt)
        return err_set(e, VAS_ENOMEM, "out of memory");
    const char *kv[2] = {field, txt};
    rc = rq_redis_xadd(r, stream, maxlen, 2, kv, id_out, n, e);
    free(txt);
    return rc;
}

int rq_redis_group_create(rq_redis *r, const char *stream, const char *group, vas_err *e)
{
    redisReply *rep = NULL;
    int rc = rq_redis_cmd(r, &rep, e, "XGROUP CREATE %s %s 0 MKSTREAM", stream, group);

    if (rc == VAS_OK)
        freeReplyObject(rep);
    else if (rc == VAS_EIO && strstr(e->msg, "BUSYGROUP"))
        rc = VAS_OK; /* made by someone else first */
    return rc;
}

void rq_redis_entry_clear(rq_redis_entry *en)
{
    json_decref(en->fields);
    en->fields = NULL;
}

const char *rq_redis_entry_get(const rq_redis_entry *en, const char *field)
{
    return en->fields ? json_string_value(json_object_get(en->fields, field)) : NULL;
}

/* The entries of an XREADGROUP reply [[stream, [[id, [k, v, ...]], ...]], ...] into out[0..max):
 * the count into *n. */
static int entries_from_reply(const redisReply *rep, rq_redis_entry *out, int max, int *n,
                              vas_err *e)
{
    *n = 0;
    for (size_t s = 0; rep->type == REDIS_REPLY_ARRAY && s < rep->elements; s++) {
        const redisReply *st = rep->element[s];
        if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
            st->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t k = 0; k < st->element[1]->elements && *n < max; k++) {
            const redisReply *ent = st->element[1]->element[k];
            rq_redis_entry *en = &out[*n];
            if (ent->type != REDIS_REPLY_ARRAY || ent->elements < 1)
                continue;
            memset(en, 0, sizeof(*en));
            snprintf(en->stream, sizeof(en->stream), "%s", st->element[0]->str);
            snprintf(en->id, sizeof(en->id), "%s", ent->element[0]->str);
            en->fields = json_object();
            if (!en->fields)
                return err_set(e, VAS_ENOMEM, "out of memory");
            (*n)++;
            const redisReply *kv = ent->elements > 1 ? ent->element[1] : NULL;
            for (size_t i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2)
                json_object_set_new(en->fields, kv->element[i]->str,
                                    json_stringn(kv->element[i + 1]->str, kv->element[i + 1]->len));
        }
    }
    return *n ? VAS_OK : VAS_ENOTFOUND;
}

int rq_redis_read(rq_redis *r, const char *group, const char *consumer, int block_ms, int max,
                  int n_streams, const char *const *streams, const char *from, rq_redis_entry *out,
                  int *n, vas_err *e)
{
    const char *argv[80];
    char blk[16], cnt[16];
    redisReply *rep = NULL;
    int argc = 0, rc;

    *n = 0;
    if (n_streams < 1 || n_streams > 32 || max < 1)
        return err_set(e, VAS_EINVAL, "XREADGROUP over 1 to 32 streams, at least 1 entry");
    snprintf(blk, sizeof(blk), "%d", block_ms);
    snprintf(cnt, sizeof(cnt), "%d", max);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = group;
    argv[argc++] = consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = cnt;
    if (block_ms >= 0) {
        argv[argc++] = "BLOCK";
        argv[argc++] = blk;
    }
    argv[argc++] = "STREAMS";
    for (int i = 0; i < n_streams; i++)
        argv[argc++] = streams[i];
    for (int i = 0; i < n_streams; i++)
        argv[argc++] = from;
    rc = rq_redis_cmd_argv(r, argc, argv, NULL, &rep, e);
    if (rc == VAS_EIO && strstr(e->msg, "NOGROUP")) { /* a Redis without our keys */
        for (int i = 0; i < n_streams && rc != VAS_OK; i++)
            if (rq_redis_group_create(r, streams[i], group, e) < 0)
                return e->code;
        rc = rq_redis_cmd_argv(r, argc, argv, NULL, &rep, e);
    }
    if (rc < 0)
        return rc;
    rc = entries_from_reply(rep, out, max, n, e);
    freeReplyObject(rep);
    if (rc < 0 && rc != VAS_ENOTFOUND) {
        for (int i = 0; i < *n; i++)
            rq_redis_entry_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

int rq_redis_read_one(rq_redis *r, const char *group, const char *consumer, int block_ms,
                      int n_streams, const char *const *streams, const char *from,
                      rq_redis_entry *out, vas_err *e)
{
    int n = 0;

    /* Over several streams Redis may claim an entry of each even with COUNT 1 (see
     * rq_worker_job.c): the reply's first is returned, the others stay pending for "0". */
    return rq_redis_read(r, group, consumer, block_ms, 1, n_streams, streams, from, out, &n, e);
}

/* ---- pipelines ---- */

int rq_redis_append(rq_redis *r, int argc, const char **argv, vas_err *e)
{
    int rc = r->c ? VAS_OK : reconnect(r, e);

    if (rc < 0)
        return rc;
    if (redisAppendCommandArgv(r->c, argc, argv, NULL) != REDIS_OK) {
        redisFree(r->c); /* what it holds already must not go out with a later command */
        r->c = NULL;
        return err_set(e, VAS_ENOMEM, "out of memory queueing a Redis command");
    }
    return VAS_OK;
}

int rq_redis_pipe(rq_redis *r, int n, redisReply **out, vas_err *e)
{
    for (int i = 0; i < n; i++) {
        void *rep = NULL;
        if (!r->c || redisGetReply(r->c, &rep) != REDIS_OK || !rep) {
            int rc = err_set(e, VAS_EIO, "Redis connection lost during a pipeline: %s",
                             r->c ? r->c->errstr : "closed");
            for (int k = 0; k < i; k++)
                freeReplyObject(out[k]);
            if (r->c)
                redisFree(r->c);
            r->c = NULL; /* the next command reconnects */
            return rc;
        }
        out[i] = rep;
    }
    return VAS_OK;
}

int rq_redis_set_ex(rq_redis *r, const char *key, const char *value, int ex_s, vas_err *e)
{
    redisReply *rep = NULL;
    int rc = rq_redis_cmd(r, &rep, e, "SET %s %s EX %d", key, value, ex_s);

    if (rc == VAS_OK)
        freeReplyObject(rep);
    return rc;
}

int rq_redis_exists(rq_redis *r, const char *key, int *exists, vas_err *e)
{
    redisReply *rep = NULL;
    int rc = rq_redis_cmd(r, &rep, e, "EXISTS %s", key);

    if (rc < 0)
        return rc;
    *exists = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    freeReplyObject(rep);
    return VAS_OK;
}

int rq_redis_ack_del(rq_redis *r, const char *stream, const char *group, const char *id, vas_err *e)
{
    redisReply *rep = NULL;
    int rc = rq_redis_cmd(r, &rep, e, "XACK %s %s %s", stream, group, id);

    if (rc < 0)
        return rc;
    freeReplyObject(rep);
    rc = rq_redis_cmd(r, &rep, e, "XDEL %s %s", stream, id);
    if (rc == VAS_OK)
        freeReplyObject(rep);
    return rc;
}
