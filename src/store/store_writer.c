/* store_writer.c - streaming a blob into the store: SHA-1 while the bytes arrive, an O_TMPFILE,
 * fsync, then link + row in one write transaction (see store.h's DESIGN).
 *
 * DESIGN: hashing is the largest CPU cost of an upload (SHA-1 ~1.5 GB/s here), as large as the
 * kernel's copies of receiving and writing. Past HASH_THREAD_MIN bytes a second thread hashes the
 * file while the HTTP thread keeps receiving and writing: it reads back what was written (pread,
 * from the page cache) up to the `avail` mark the writer publishes. Small files are hashed inline;
 * a thread would cost more than it saves. The thread owns `sha` from its start until joined. */
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
#include <sys/stat.h>
#include <unistd.h>

/* Writeback is started every WB_CHUNK bytes (sync_file_range, asynchronous) so the fdatasync at
 * commit finds little left to write: a 200 MB upload otherwise waits ~0.2 s there. */
#define WB_CHUNK        ((int64_t)8 << 20)
#define HASH_THREAD_MIN ((int64_t)4 << 20)
#define HASH_BUF        ((size_t)1 << 20)
#define HASH_BATCH      ((int64_t)1 << 20)  /* wake the thread once per MiB, not per write */
#define FAULT_MID       ((int64_t)64 << 10) /* where the fault point "writer_mid" is */

struct store_writer {
    store *s;
    int fd;
    EVP_MD_CTX *sha;
    int64_t size, max;
    int64_t wb_done; /* bytes already handed to writeback */
    /* the hashing thread; mu guards avail, done, stop, hash_err */
    int threaded;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t hashed; /* bytes hashed; the thread's own once it runs */
    int64_t avail;  /* bytes written and ready to hash */
    int64_t woken;  /* avail when the thread was last signalled (writer's own) */
    int done, stop, hash_err;
};

static void *hash_thread(void *arg)
{
    store_writer *w = arg;
    unsigned char *buf = malloc(HASH_BUF);
    int64_t target;
    int fin;

    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->hashed == w->avail && !w->done && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        target = w->avail;
        fin = w->done;
        if (w->stop || !buf)
            w->hash_err = w->hash_err || !buf;
        pthread_mutex_unlock(&w->mu);
        if (w->stop || !buf)
            break;
        while (w->hashed < target) {
            size_t n =
                (size_t)(target - w->hashed) < HASH_BUF ? (size_t)(target - w->hashed) : HASH_BUF;
            ssize_t k = pread(w->fd, buf, n, w->hashed);
            if (k <= 0) {
                if (k < 0 && errno == EINTR)
                    continue;
                pthread_mutex_lock(&w->mu);
                w->hash_err = 1;
                pthread_mutex_unlock(&w->mu);
                free(buf);
                return NULL;
            }
            EVP_DigestUpdate(w->sha, buf, (size_t)k);
            w->hashed += k;
        }
        if (fin)
            break;
    }
    free(buf);
    return NULL;
}

/* Stops the thread (finishing the hash when finish is set) and joins it. 0 ok, -1 failed. */
static int hash_join(store_writer *w, int finish)
{
    int err;

    if (!w->threaded)
        return 0;
    pthread_mutex_lock(&w->mu);
    if (finish) {
        w->avail = w->size;
        w->done = 1;
    } else
        w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    w->threaded = 0;
    err = w->hash_err || (finish && w->hashed != w->size);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    return err ? -1 : 0;
}

int store_writer_new(store *s, int64_t max, store_writer **out, vas_err *e)
{
    store_writer *w = calloc(1, sizeof(*w));

    if (!w)
        return err_set(e, VAS_ENOMEM, "out of memory starting an upload");
    w->s = s;
    w->max = max;
    /* Read-write: the hashing thread reads back what was written. */
    w->fd = open(s->files_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
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

static int start_hash_thread(store_writer *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->avail = w->woken = w->size;
    if (pthread_create(&w->th, NULL, hash_thread, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        return -1; /* go on hashing inline */
    }
    w->threaded = 1;
    return 0;
}

static int write_all(store_writer *w, const char *c, size_t n, vas_err *e)
{
    while (n > 0) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (store_full(errno))
                return err_set(e, VAS_ENOSPC,
                               "the disk is full: the file did not fit (%lld bytes written); "
                               "nothing was kept",
                               (long long)w->size);
            return err_sys(e, VAS_EIO, errno, "cannot write the uploaded file");
        }
        c += k;
        n -= (size_t)k;
        w->size += k;
    }
    return VAS_OK;
}

int store_writer_write(store_writer *w, const void *p, size_t n, vas_err *e)
{
    int rc;

    if (w->max > 0 && w->size + (int64_t)n > w->max)
        return err_set(e, VAS_ETOOBIG, "the file is larger than the limit of %lld bytes",
                       (long long)w->max);
    if (!w->threaded && w->size + (int64_t)n > HASH_THREAD_MIN)
        start_hash_thread(w);
    if (!w->threaded) {
        EVP_DigestUpdate(w->sha, p, n);
        w->hashed += (int64_t)n;
    }
    rc = write_all(w, p, n, e);
    if (rc < 0)
        return rc;
    if (w->size >= FAULT_MID && w->size - (int64_t)n < FAULT_MID)
        fault_point("writer_mid"); /* test builds: killed mid-upload or mid-output */
    if (w->threaded && w->size - w->woken >= HASH_BATCH) {
        pthread_mutex_lock(&w->mu);
        w->avail = w->woken = w->size;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    if (w->size - w->wb_done >= WB_CHUNK) {
        /* Best effort: a failure here only means the final fdatasync does the work. */
        (void)sync_file_range(w->fd, w->wb_done, w->size - w->wb_done, SYNC_FILE_RANGE_WRITE);
        w->wb_done = w->size;
    }
    return VAS_OK;
}

void store_writer_abort(store_writer *w)
{
    if (!w)
        return;
    hash_join(w, 0);
    if (w->fd >= 0)
        close(w->fd); /* an O_TMPFILE never linked vanishes here */
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
        out[k++] = *p == '"' ? '\'' : (char)*p;
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

    if (hash_join(w, 1) < 0) {
        rc = err_set(e, VAS_EIO, "cannot read back the uploaded file to hash it");
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
