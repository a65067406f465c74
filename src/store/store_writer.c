/* store_writer.c - streaming a blob into the store: SHA-1 while the bytes arrive, an O_TMPFILE,
 * fdatasync, then link + row in one write transaction (see store.h's DESIGN).
 *
 * DESIGN: an upload's CPU goes to receiving (the kernel's copy out of the socket), SHA-1
 * (OpenSSL, SHA-NI where the CPU has it: ~1.5 GB/s) and writing. The caller's bytes are copied
 * into a ring of WR_NBUF buffers of WR_BUF bytes. Once the first buffer is full, threads take
 * each full buffer: one hashes them in order, WR_NPUT others write them at their offsets, so
 * that WR_NPUT writes are in flight. Writes of whole blocks go through a second descriptor of the
 * same file opened O_DIRECT: no copy into the page cache and no page cache to fill (on a VM whose
 * free memory goes back to the host, every fresh page-cache page costs a host fault: 200 MB
 * written through the page cache took 0.1 to 0.35 s of CPU here, through O_DIRECT ~0.02 s). A
 * last partial block, a file system without O_DIRECT, and uploads that fit one buffer (most
 * outputs, every small file: hashed and written at commit, with no thread) go through the page
 * cache. The caller only copies, and waits when every buffer is still being hashed or written.
 * Durability is unchanged: commit's fdatasync comes after every write, O_DIRECT ones included
 * (they may sit in the disk's volatile cache until that fdatasync flushes it).
 *
 * Threads: a writer is used by one thread at a time (its caller); its threads are its own,
 * started by store_writer_write and joined by commit or abort. mu guards the ring's counters and
 * flags and the write error; a buffer's bytes are the caller's until published, then read-only
 * to the threads until it is both hashed and written. */
#include "store/store_int.h"

#include "core/digest.h"

#include "core/fault.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WR_BUF    ((size_t)1 << 20)   /* one write and one hash step */
#define WR_NBUF   6                   /* buffers in the ring: 6 MiB for a large upload */
#define WR_NPUT   2                   /* writing threads: writes in flight */
#define WR_ALIGN  ((size_t)4096)      /* O_DIRECT's alignment of addresses, sizes and offsets */
#define FAULT_MID ((int64_t)64 << 10) /* where the fault point "writer_mid" is */

struct store_writer {
    store *s;
    int fd;            /* the O_TMPFILE */
    int dfd;           /* the same file opened O_DIRECT while the threads run, or -1 */
    EVP_MD_CTX *sha;   /* the hashing thread's while it runs */
    int64_t size, max; /* bytes taken; the limit (<= 0: none) */
    char *ring;        /* WR_NBUF * WR_BUF bytes (mmap), NULL until the first write */
    size_t fill;       /* bytes in the buffer being filled: ring slot pub % WR_NBUF */
    int threaded;      /* the threads run */
    pthread_t hasher, putters[WR_NPUT];
    pthread_mutex_t mu;
    pthread_cond_t work;  /* pub, done or stop changed, or a write failed */
    pthread_cond_t freed; /* a buffer was hashed or written */
    size_t len[WR_NBUF];  /* bytes in each published buffer */
    char wdone[WR_NBUF];  /* a taken buffer was written, not yet counted in n_written */
    int64_t pub;          /* buffers published */
    int64_t n_hashed;     /* buffers hashed (in order) */
    int64_t n_taken;      /* buffers taken by the writing threads */
    int64_t n_written;    /* buffers written, counted in order (all below it are) */
    int64_t written;      /* bytes written */
    int64_t base;         /* bytes written before the threads started: buffer i goes at
                             base + i * WR_BUF */
    int done, stop;       /* no more buffers will come; give up now */
    int werr;             /* errno of a failed write, 0 while none */
};

/* Writes buffer bytes at off (a multiple of WR_BUF): whole blocks through dfd when there is one,
 * the rest through the page cache, whose writeback is started at once (sync_file_range,
 * asynchronous) so that commit's fdatasync finds little left to do. 0, or the errno. */
static int put_at(store_writer *w, const char *c, size_t n, int64_t off)
{
    size_t head = w->dfd >= 0 ? n & ~(WR_ALIGN - 1) : 0;
    int err = head ? util_pwrite_all(w->dfd, c, head, off) : 0;

    if (err == EINVAL) /* O_DIRECT refused at write time: through the page cache then */
        head = 0, err = 0;
    if (err || head == n)
        return err;
    err = util_pwrite_all(w->fd, c + head, n - head, off + (int64_t)head);
    if (!err) /* best effort: a failure only leaves the work to fdatasync */
        (void)sync_file_range(w->fd, off + (int64_t)head, (int64_t)(n - head),
                              SYNC_FILE_RANGE_WRITE);
    return err;
}

/* Waits (mu held) until buffer *n is published, then returns it, or NULL when none will come
 * (done and all taken, stop, or a write failed). */
static const char *next_buf(store_writer *w, const int64_t *n, size_t *len)
{
    while (*n == w->pub && !w->done && !w->stop && !w->werr)
        pthread_cond_wait(&w->work, &w->mu);
    if (*n == w->pub || w->stop || w->werr)
        return NULL;
    *len = w->len[*n % WR_NBUF];
    return w->ring + (size_t)(*n % WR_NBUF) * WR_BUF;
}

static void *hash_thread(void *arg)
{
    store_writer *w = arg;
    const char *b;
    size_t n;

    pthread_mutex_lock(&w->mu);
    while ((b = next_buf(w, &w->n_hashed, &n))) {
        pthread_mutex_unlock(&w->mu);
        EVP_DigestUpdate(w->sha, b, n);
        pthread_mutex_lock(&w->mu);
        w->n_hashed++;
        pthread_cond_broadcast(&w->freed);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void *write_thread(void *arg)
{
    store_writer *w = arg;
    const char *b;
    int64_t i;
    size_t n;
    int err;

    pthread_mutex_lock(&w->mu);
    while ((b = next_buf(w, &w->n_taken, &n))) {
        i = w->n_taken++;
        pthread_mutex_unlock(&w->mu);
        err = put_at(w, b, n, w->base + i * (int64_t)WR_BUF);
        pthread_mutex_lock(&w->mu);
        if (err) {
            w->werr = err; /* the caller sees it at its next write or at commit */
            pthread_cond_broadcast(&w->work);
        } else {
            w->written += (int64_t)n;
            w->wdone[i % WR_NBUF] = 1;
            while (w->n_written < w->n_taken && w->wdone[w->n_written % WR_NBUF])
                w->wdone[w->n_written++ % WR_NBUF] = 0;
        }
        pthread_cond_broadcast(&w->freed);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The lock, conditions and O_DIRECT descriptor start_threads made (no thread running). */
static void drop_sync(store_writer *w)
{
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->freed);
    if (w->dfd >= 0)
        close(w->dfd);
    w->dfd = -1;
}

/* Ends the threads that run (the hasher and the first k writers): finish = once they took every
 * published buffer, else now. The errno of a failed write, or 0. */
static int end_threads(store_writer *w, int k, int finish)
{
    pthread_mutex_lock(&w->mu);
    if (finish)
        w->done = 1;
    else
        w->stop = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->hasher, NULL);
    for (int i = 0; i < k; i++)
        pthread_join(w->putters[i], NULL);
    drop_sync(w);
    return w->werr;
}

/* Opens the O_DIRECT descriptor (when the file system allows it) and starts the threads; -1
 * (nothing running) when one cannot start. */
static int start_threads(store_writer *w)
{
    char path[64];
    int k = 0;

    w->base = w->written; /* whole buffers written inline if threads failed to start before */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", w->fd);
    w->dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->freed, NULL);
    if (pthread_create(&w->hasher, NULL, hash_thread, w) != 0) {
        drop_sync(w);
        return -1;
    }
    while (k < WR_NPUT && pthread_create(&w->putters[k], NULL, write_thread, w) == 0)
        k++;
    if (k == 0) {
        end_threads(w, 0, 0);
        w->stop = 0;
        return -1;
    }
    w->threaded = k; /* fewer writers than asked only make fewer writes in flight */
    return 0;
}

/* Ends the threads, if they run. finish: see end_threads. The errno of a failed write, or 0. */
static int join_threads(store_writer *w, int finish)
{
    int k = w->threaded;

    if (!k)
        return 0;
    w->threaded = 0;
    return end_threads(w, k, finish);
}

static int write_err(store_writer *w, int err, vas_err *e)
{
    if (store_full(err))
        return err_set(e, VAS_ENOSPC,
                       "the disk is full: the file did not fit (%lld bytes written); "
                       "nothing was kept",
                       (long long)w->written);
    return err_sys(e, VAS_EIO, err, "cannot write the uploaded file");
}

int store_writer_new(store *s, int64_t max, store_writer **out, vas_err *e)
{
    store_writer *w = calloc(1, sizeof(*w));

    if (!w)
        return err_set(e, VAS_ENOMEM, "out of memory starting an upload");
    w->s = s;
    w->max = max;
    w->dfd = -1;
    w->fd = open(s->files_dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int err = errno;
        free(w);
        if (store_full(err))
            return err_set(e, VAS_ENOSPC, "the disk is full: no room for a new file in %s",
                           s->files_dir);
        return err_sys(e, VAS_EIO, err, "cannot create a temporary file in %s", s->files_dir);
    }
    w->sha = EVP_MD_CTX_new();
    if (!w->sha || !EVP_DigestInit_ex(w->sha, EVP_sha1(), NULL)) {
        store_writer_abort(w);
        return err_set(e, VAS_ENOMEM, "cannot start SHA-1");
    }
    *out = w;
    return VAS_OK;
}

int64_t store_writer_size(const store_writer *w)
{
    return w->size;
}

/* Hashes and writes the buffer being filled here, with no thread (it is ring slot 0). */
static int put_inline(store_writer *w, vas_err *e)
{
    int err;

    EVP_DigestUpdate(w->sha, w->ring ? w->ring : "", w->fill);
    err = w->fill ? put_at(w, w->ring, w->fill, w->written) : 0;
    if (!err)
        w->written += (int64_t)w->fill;
    w->fill = 0;
    return err ? write_err(w, err, e) : VAS_OK;
}

/* Hands the full buffer being filled to the threads (starting them the first time) and waits
 * until the next one is free. Without threads, hashes and writes it here. */
static int publish(store_writer *w, vas_err *e)
{
    int err;

    if (!w->threaded && start_threads(w) < 0)
        return put_inline(w, e);
    pthread_mutex_lock(&w->mu);
    w->len[w->pub % WR_NBUF] = w->fill;
    w->pub++;
    pthread_cond_broadcast(&w->work);
    while (!w->werr &&
           w->pub - (w->n_hashed < w->n_written ? w->n_hashed : w->n_written) >= WR_NBUF)
        pthread_cond_wait(&w->freed, &w->mu);
    err = w->werr;
    pthread_mutex_unlock(&w->mu);
    w->fill = 0;
    return err ? write_err(w, err, e) : VAS_OK;
}

int store_writer_write(store_writer *w, const void *p, size_t n, vas_err *e)
{
    const char *c = p;
    int rc;

    if (w->max > 0 && w->size + (int64_t)n > w->max)
        return err_set(e, VAS_ETOOBIG, "the file is larger than the limit of %lld bytes",
                       (long long)w->max);
    if (!w->ring && n > 0) {
        w->ring = mmap(NULL, WR_NBUF * WR_BUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (w->ring == MAP_FAILED) {
            w->ring = NULL;
            return err_set(e, VAS_ENOMEM, "out of memory for an upload's buffers");
        }
    }
    while (n > 0) {
        size_t k = WR_BUF - w->fill < n ? WR_BUF - w->fill : n;
        /* pub stays 0 while no thread runs: the buffer is slot 0 */
        memcpy(w->ring + (size_t)(w->pub % WR_NBUF) * WR_BUF + w->fill, c, k);
        w->fill += k;
        w->size += (int64_t)k;
        c += k;
        n -= k;
        if (w->fill == WR_BUF && (rc = publish(w, e)) < 0)
            return rc;
    }
    if (w->size >= FAULT_MID && w->size - (int64_t)(c - (const char *)p) < FAULT_MID)
        fault_point("writer_mid"); /* test builds: killed mid-upload or mid-output */
    return VAS_OK;
}

/* Hashes and writes what is left (the last, partly filled buffer), then ends the threads. */
static int drain(store_writer *w, vas_err *e)
{
    int err;

    if (!w->threaded)
        return put_inline(w, e);
    if (w->fill > 0) {
        pthread_mutex_lock(&w->mu);
        w->len[w->pub % WR_NBUF] = w->fill;
        w->pub++;
        pthread_mutex_unlock(&w->mu);
        w->fill = 0;
    }
    err = join_threads(w, 1);
    return err ? write_err(w, err, e) : VAS_OK;
}

void store_writer_abort(store_writer *w)
{
    if (!w)
        return;
    join_threads(w, 0);
    if (w->fd >= 0)
        close(w->fd); /* an O_TMPFILE never linked vanishes here */
    if (w->ring)
        munmap(w->ring, WR_NBUF * WR_BUF);
    EVP_MD_CTX_free(w->sha);
    free(w);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* 1 if the blob id is already stored with size bytes. */
static int blob_stored(store *s, const char *id, int64_t size)
{
    char path[4096];
    struct stat sb;

    store_file_path(s, id, path, sizeof(path));
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == size;
}

/* Links the temp file under its id; EEXIST means the same bytes are already stored. */
static int link_blob(store_writer *w, const char *id, vas_err *e)
{
    char src[64], dst[4096], dir[4096];

    snprintf(dir, sizeof(dir), "%s/%.2s", w->s->files_dir, id);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_sys(e, VAS_EIO, errno, "cannot create %s", dir);
    store_file_path(w->s, id, dst, sizeof(dst));
    snprintf(src, sizeof(src), "/proc/self/fd/%d", w->fd);
    if (linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
        return err_sys(e, VAS_EIO, errno, "cannot store file %s", id);
    return VAS_OK;
}

static int insert_file_row(store *s, const store_file *f, vas_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = store_stmt(s, -1,
                    "INSERT OR IGNORE INTO files(id, filename, content_type, size, created)"
                    " VALUES(?, ?, ?, ?, ?)",
                    &st, e);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, f->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->filename, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f->content_type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, f->size);
    sqlite3_bind_double(st, 5, f->created);
    rc = sqlite3_step(st) == SQLITE_DONE ? VAS_OK : store_db_err(s, e, "adding a file");
    sqlite3_finalize(st);
    return rc;
}

/* Bytes of the UTF-8 character whose lead byte is c (1 for ASCII or a stray byte). */
static size_t utf8_len(unsigned char c)
{
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

void store_safe_filename(const char *in, char *out, size_t n)
{
    const char *base = in;
    const unsigned char *p;
    size_t k = 0, start;

    for (const char *q = in; *q; q++)
        if (*q == '/' || *q == '\\')
            base = q + 1;
    for (p = (const unsigned char *)base; *p && k + 1 < n; p++) {
        if (*p < 0x20 || *p == 0x7f)
            continue;
        out[k++] = (char)(*p == '"' ? '\'' : *p);
    }
    if (*p && k > 0) { /* cut short: drop a last character that did not fit whole */
        start = k - 1;
        while (start > 0 && ((unsigned char)out[start] & 0xc0) == 0x80)
            start--;
        if (start + utf8_len((unsigned char)out[start]) > k)
            k = start;
    }
    out[k] = '\0';
    if (k == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, n, "file");
}

int store_writer_commit(store_writer *w, const char *filename, const char *content_type,
                        store_file *out, vas_err *e)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    store_file f = {0};
    store *s = w->s;
    int rc;

    rc = drain(w, e);
    if (rc < 0)
        goto out;
    if (w->written != w->size) {
        rc = err_set(e, VAS_EIO, "the uploaded file was not written whole");
        goto out;
    }
    EVP_DigestFinal_ex(w->sha, md, &mdlen);
    hex(md, mdlen, f.id);
    store_safe_filename(filename && *filename ? filename : f.id, f.filename, sizeof(f.filename));
    snprintf(f.content_type, sizeof(f.content_type), "%s",
             content_type && *content_type ? content_type : "application/octet-stream");
    f.size = w->size;
    f.created = util_now();
    /* A blob is only ever linked under its id after its own fdatasync: the same bytes already
     * stored need no second one (a repeat upload, the same output of many jobs). */
    if (!blob_stored(s, f.id, f.size) && fdatasync(w->fd) < 0) {
        rc = store_full(errno)
                 ? err_set(e, VAS_ENOSPC, "the disk is full: the file could not be flushed to it")
                 : err_sys(e, VAS_EIO, errno, "cannot flush the uploaded file to disk");
        goto out;
    }
    rc = store_exec(s, "BEGIN IMMEDIATE", e);
    if (rc < 0)
        goto out;
    rc = link_blob(w, f.id, e);
    if (rc == VAS_OK)
        fault_point("blob_linked"); /* test builds: killed between the blob and its row */
    if (rc == VAS_OK)
        rc = insert_file_row(s, &f, e);
    if (rc == VAS_OK)
        rc = store_exec(s, "COMMIT", e);
    if (rc < 0) {
        store_exec(s, "ROLLBACK", NULL);
        goto out;
    }
    if (out) {
        rc = store_file_find(s, f.id, out, e); /* the kept name, on a repeat upload */
    }
out:
    store_writer_abort(w);
    return rc;
}

int store_put_bytes(store *s, const void *p, size_t n, const char *filename,
                    const char *content_type, store_file *out, vas_err *e)
{
    store_writer *w = NULL;
    int rc = store_writer_new(s, 0, &w, e);

    if (rc < 0)
        return rc;
    rc = store_writer_write(w, p, n, e);
    if (rc < 0) {
        store_writer_abort(w);
        return rc;
    }
    return store_writer_commit(w, filename, content_type, out, e);
}

int store_file_adopt(store *s, const char *path, const char *filename, store_file *out, vas_err *e)
{
    char abs[PATH_MAX], dir[4096], dst[4096];
    store_file f = {0};
    struct stat sb;
    int rc;

    if (!realpath(path, abs) || stat(abs, &sb) < 0)
        return err_sys(e, errno == ENOENT ? VAS_ENOTFOUND : VAS_EIO, errno, "cannot read %s", path);
    if (!S_ISREG(sb.st_mode))
        return err_set(e, VAS_EINVAL, "%s is not a regular file", path);
    rc = digest_file_sha1(abs, f.id, e);
    if (rc < 0)
        return rc;
    store_safe_filename(filename && *filename ? filename : f.id, f.filename, sizeof(f.filename));
    snprintf(f.content_type, sizeof(f.content_type), "application/octet-stream");
    f.size = sb.st_size;
    f.created = util_now();
    snprintf(dir, sizeof(dir), "%s/%.2s", s->files_dir, f.id);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_sys(e, VAS_EIO, errno, "cannot create %s", dir);
    store_file_path(s, f.id, dst, sizeof(dst));
    if (symlink(abs, dst) < 0 && errno != EEXIST)
        return err_sys(e, VAS_EIO, errno, "cannot link %s into the store", path);
    rc = insert_file_row(s, &f, e);
    if (rc == VAS_OK && out)
        rc = store_file_find(s, f.id, out, e);
    return rc;
}
