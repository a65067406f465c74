/* util.h - small helpers every module uses: strict number parsing, ids, time, paths.
 * Threads: all functions are thread-safe. */
#ifndef VAS_UTIL_H
#define VAS_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct vas_err;

#define UTIL_UUID_LEN 36

/* Whole string must be a number (leading/trailing spaces refused). 0 ok, -1 not a number. */
int util_parse_i64(const char *s, int64_t *out);
/* Finite numbers only ("nan", "inf" refused). */
int util_parse_double(const char *s, double *out);
/* Random version-4 UUID, lowercase, into out[UTIL_UUID_LEN + 1]. 0 ok, -1 no entropy. */
int util_uuid(char *out);
/* 1 if s[0..n) are all lowercase-or-uppercase hex digits. */
int util_is_hex(const char *s, size_t n);
/* Wall clock in seconds (UNIX epoch) and monotonic milliseconds. */
double util_now(void);
int64_t util_mono_ms(void);
/* mkdir -p; 0 ok, -1 with errno. */
int util_mkdir_p(const char *path, unsigned mode);
/* rm -r path without following links (nftw, depth first); 0 ok (also when path is absent),
 * -1 with errno. Not thread-safe (nftw). */
int util_rm_tree(const char *path);
/* a followed by b, a new string (caller frees); NULL when out of memory. */
char *util_concat(const char *a, const char *b);
/* Reads the regular file path whole into *buf (new, caller frees; *len bytes), refusing one over
 * max bytes with VAS_ETOOBIG ("<path> is N bytes, over <limit>"). *buf is NULL on error. */
int util_read_file(const char *path, size_t max, const char *limit, unsigned char **buf,
                   size_t *len, struct vas_err *e);
/* pwrite of all n bytes of buf at off, again after EINTR and short writes: 0, or the errno (EIO
 * when a write makes no progress). */
int util_pwrite_all(int fd, const void *buf, size_t n, int64_t off);
/* Lowercase a string in place; returns it. */
char *util_lower(char *s);
/* ISO-8601 UTC ("2026-11-25T04:10:49Z") of an epoch time into out[32]. */
void util_iso8601(double t, char *out, size_t n);

#endif
