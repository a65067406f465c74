/* net_cache.c - see net_cache.h. A worker holds a handful of models at most, so the entries are a
 * plain list scanned in full: the least recently used is the idle entry with the oldest clock. */
#include "analyses/net_cache.h"

#include "core/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NET_CACHE_FILES 2 /* the weights and the model config (pose_model.weights, model_cfg) */

/* What a file on disk is right now; all zeros when it is absent (or the name is ""). */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

struct net_cache_entry {
    net_cache_entry *next;          /* the cache's list; unlisted when the cache is NULL */
    char *key;                      /* owned: fingerprint, file paths, threads, bf16 */
    char *model;                    /* owned: the model's name, for the log */
    file_id files[NET_CACHE_FILES]; /* the network's files as they were when it was loaded */
    nn_graph *g;                    /* owned */
    nn_session *s;                  /* owned; on g */
    int64_t bytes;                  /* nn_session_bytes when last given back; 0 until then */
    uint64_t last_use;              /* the cache's clock when last given back */
    int in_use;                     /* taken, not given back */
    int hit;                        /* the last take found it warm */
};

struct net_cache {
    int64_t budget;        /* bytes of idle entries kept at most */
    net_cache_entry *head; /* owned list, in no particular order */
    uint64_t clock;        /* one tick per give */
    net_cache_counts n;    /* hits, misses, evictions, stale (entries and bytes are counted) */
};

int net_cache_new(int64_t budget, net_cache **out, vas_err *e)
{
    net_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return err_set(e, VAS_ENOMEM, "out of memory making the model cache");
    c->budget = budget > 0 ? budget : 0;
    *out = c;
    return VAS_OK;
}

static void entry_free(net_cache_entry *x)
{
    if (!x)
        return;
    nn_session_free(x->s);
    nn_graph_free(x->g);
    free(x->key);
    free(x->model);
    free(x);
}

void net_cache_free(net_cache *c)
{
    if (!c)
        return;
    while (c->head) {
        net_cache_entry *x = c->head;
        assert(!x->in_use);
        c->head = x->next;
        entry_free(x);
    }
    free(c);
}

/* ---- keys ---- */

static void file_id_get(const char *path, file_id *out)
{
    struct stat st;

    memset(out, 0, sizeof(*out));
    if (!path || !*path || stat(path, &st) < 0)
        return;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->size = st.st_size;
    out->mtime = st.st_mtim;
}

static int file_id_same(const file_id *a, const file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The entry's key for m and opt: new string (caller frees), NULL when out of memory. Every
 * session option is in it, as the bytes of nn_options (plain ints, no padding; an option added
 * to nn.h is then part of the key without a change here). */
static char *make_key(const pose_model *m, const nn_options *opt)
{
    nn_options o = {0};
    char hex[2 * sizeof(o) + 1];
    const unsigned char *b = (const unsigned char *)&o;
    const char *cfg = m->model_cfg ? m->model_cfg : "";
    int n;
    char *k;

    if (opt)
        o = *opt;
    for (size_t i = 0; i < sizeof(o); i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    n = snprintf(NULL, 0, "%s\n%s\n%s\n%s", m->fingerprint, m->weights, cfg, hex);
    k = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (k)
        snprintf(k, (size_t)n + 1, "%s\n%s\n%s\n%s", m->fingerprint, m->weights, cfg, hex);
    return k;
}

/* ---- the list ---- */

static void unlink_entry(net_cache *c, net_cache_entry *x)
{
    for (net_cache_entry **p = &c->head; *p; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            x->next = NULL;
            return;
        }
}

/* The idle entry for key whose files are still files[]; idle entries of that key whose files
 * changed are freed on the way (stale: never used again). NULL if none. */
static net_cache_entry *find_idle(net_cache *c, const char *key, const file_id *files)
{
    net_cache_entry *x = c->head, *found = NULL;

    while (x) {
        net_cache_entry *next = x->next;
        int same = 1;
        if (x->in_use || strcmp(x->key, key) != 0) {
            x = next;
            continue;
        }
        for (int i = 0; i < NET_CACHE_FILES; i++)
            same &= file_id_same(&x->files[i], &files[i]);
        if (!same) {
            log_info("net_cache", "event=model_stale model=%s bytes=%lld", x->model,
                     (long long)x->bytes);
            unlink_entry(c, x);
            entry_free(x);
            c->n.stale++;
        } else if (!found || x->last_use > found->last_use) {
            found = x;
        }
        x = next;
    }
    return found;
}

/* Loads m's network and makes its session into a new entry (its key and files set by the caller).
 */
static int load_entry(const pose_model *m, const nn_options *opt, net_cache_entry **out, vas_err *e)
{
    net_cache_entry *x = calloc(1, sizeof(*x));
    int rc;

    if (!x || !(x->model = strdup(m->name ? m->name : ""))) {
        rc = err_set(e, VAS_ENOMEM, "out of memory loading model '%s'", m->name);
        goto fail;
    }
    rc = pose_model_graph(m, &x->g, e);
    if (rc == VAS_OK)
        rc = nn_session_new(x->g, opt, &x->s, e);
    if (rc < 0)
        goto fail;
    *out = x;
    return VAS_OK;
fail:
    entry_free(x);
    return rc;
}

int net_cache_take(net_cache *c, const pose_model *m, const nn_options *opt, net_cache_entry **out,
                   vas_err *e)
{
    file_id files[NET_CACHE_FILES];
    net_cache_entry *x = NULL;
    char *key = make_key(m, opt);
    int rc;

    if (!key)
        return err_set(e, VAS_ENOMEM, "out of memory loading model '%s'", m->name);
    /* Before loading: the file read is then the one whose identity the entry keeps (a file
     * replaced in between is a stale entry next time, never a stale network kept as new). */
    file_id_get(m->weights, &files[0]);
    file_id_get(m->model_cfg, &files[1]);
    if (c && (x = find_idle(c, key, files)) != NULL) {
        free(key);
        x->in_use = x->hit = 1;
        c->n.hits++;
        *out = x;
        return VAS_OK;
    }
    rc = load_entry(m, opt, &x, e);
    if (rc < 0) {
        free(key);
        return rc;
    }
    x->key = key;
    memcpy(x->files, files, sizeof(files));
    x->in_use = 1;
    if (c) {
        x->next = c->head;
        c->head = x;
        c->n.misses++;
    }
    *out = x;
    return VAS_OK;
}

const nn_graph *net_cache_graph(const net_cache_entry *x)
{
    return x->g;
}

nn_session *net_cache_session(const net_cache_entry *x)
{
    return x->s;
}

int net_cache_hit(const net_cache_entry *x)
{
    return x->hit;
}

/* ---- the budget ---- */

static int64_t idle_bytes(const net_cache *c)
{
    int64_t n = 0;

    for (const net_cache_entry *x = c->head; x; x = x->next)
        if (!x->in_use)
            n += x->bytes;
    return n;
}

/* Frees least recently used idle entries until the idle ones fit the budget. */
static void keep_budget(net_cache *c)
{
    while (c->head && idle_bytes(c) > c->budget) {
        net_cache_entry *lru = NULL;
        for (net_cache_entry *x = c->head; x; x = x->next)
            if (!x->in_use && (!lru || x->last_use < lru->last_use))
                lru = x;
        if (!lru)
            return;
        if (c->budget > 0) /* with no budget every job is a miss: nothing to say each time */
            log_info("net_cache", "event=model_evicted model=%s bytes=%lld budget=%lld", lru->model,
                     (long long)lru->bytes, (long long)c->budget);
        unlink_entry(c, lru);
        entry_free(lru);
        c->n.evictions++;
    }
}

void net_cache_give(net_cache *c, net_cache_entry *x)
{
    if (!x)
        return;
    if (!c) {
        entry_free(x);
        return;
    }
    assert(x->in_use);
    x->in_use = 0;
    x->bytes = (int64_t)nn_session_bytes(x->s);
    x->last_use = ++c->clock;
    keep_budget(c);
}

void net_cache_drop(net_cache *c, net_cache_entry *x)
{
    if (!x)
        return;
    if (c)
        unlink_entry(c, x);
    entry_free(x);
}

void net_cache_count(const net_cache *c, net_cache_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return;
    *out = c->n;
    out->entries = out->in_use = 0;
    for (const net_cache_entry *x = c->head; x; x = x->next) {
        out->entries++;
        out->in_use += x->in_use;
    }
    out->bytes = idle_bytes(c);
}
