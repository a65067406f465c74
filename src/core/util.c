/* util.c - see util.h. */
#include "core/util.h"

#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int util_parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int util_parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int util_uuid(char *out)
{
    unsigned char b[16];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, UTIL_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

int util_is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

double util_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t util_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int util_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

char *util_concat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

int util_pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
    const char *c = buf;

    while (n > 0) {
        ssize_t k = pwrite(fd, c, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return errno;
        if (k == 0)
            return EIO;
        c += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

char *util_lower(char *s)
{
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

void util_iso8601(double t, char *out, size_t n)
{
    time_t s = (time_t)t;
    struct tm tm;

    gmtime_r(&s, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int util_read_file(const char *path, size_t max, const char *limit, unsigned char **buf,
                   size_t *len, vas_err *e)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = VAS_OK;

    *buf = NULL;
    if (fd < 0)
        return err_sys(e, errno == ENOENT ? VAS_ENOTFOUND : VAS_EIO, errno, "cannot open %s", path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, VAS_EINVAL, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max) {
        close(fd);
        return err_set(e, VAS_ETOOBIG, "%s is %lld bytes, over %s", path, (long long)st.st_size,
                       limit);
    }
    *len = (size_t)st.st_size;
    if (!(*buf = malloc(*len ? *len : 1))) {
        close(fd);
        return err_set(e, VAS_ENOMEM, "out of memory reading %s", path);
    }
    for (size_t got = 0; got < *len;) {
        ssize_t r = read(fd, *buf + got, *len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? err_sys(e, VAS_EIO, errno, "cannot read %s", path)
                       : err_set(e, VAS_EIO, "%s shrank while being read", path);
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int util_rm_tree(const char *path)
{
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    return nftw(path, rm_one, 8, FTW_DEPTH | FTW_PHYS); /* NOLINT(concurrency-mt-unsafe) */
}
