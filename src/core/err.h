/* err.h - vas's one error type: negative VAS_E* codes plus one sentence for a person.
 * Not: mapping codes to HTTP statuses (http/reply.c does that). Threads: a vas_err is
 * owned by the caller of the failing function; nothing here is shared. */
#ifndef VAS_ERR_H
#define VAS_ERR_H

#include <stddef.h>

/* Append-only, like CURLcode: numbers never change meaning. */
enum {
    VAS_OK = 0,
    VAS_EINVAL = -1,        /* bad input from a client: 400 */
    VAS_ENOTFOUND = -2,     /* no such file/analysis/route: 404 */
    VAS_EAMBIG = -3,        /* id prefix matches more than one row: 400 */
    VAS_ECONFLICT = -4,     /* state forbids it (delete a file in use): 409 */
    VAS_ETOOBIG = -5,       /* over a configured ceiling: 413 */
    VAS_EIO = -6,           /* disk, database, OS: 500 */
    VAS_ENOMEM = -7,        /* allocation failed: 500 */
    VAS_EAUTH = -8,         /* missing or wrong bearer token: 401 */
    VAS_EMETHOD = -9,       /* route exists, method does not: 405 */
    VAS_ECANCELLED = -10,   /* a job saw its cancel flag */
    VAS_EUNSUPPORTED = -11, /* valid input vas cannot handle (yet) */
    VAS_ERANGE = -12,       /* Range header cannot be satisfied: 416 */
    VAS_ENOSPC = -13,       /* the disk is full: 507 */
    VAS_EBUSY = -14,        /* the database stayed locked past its busy timeout: 503 */
};

#define VAS_ERR_MSG 512

typedef struct vas_err {
    int code;              /* last VAS_E* set, or VAS_OK */
    char msg[VAS_ERR_MSG]; /* one sentence for a person, no trailing newline */
} vas_err;

/* Fills e (if not NULL) and returns code, so callers can `return err_set(...)`. */
int err_set(vas_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set but appends ": strerror(errno_value)". */
int err_sys(vas_err *e, int code, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The macros make the returned code visible at the call site, so static analysis follows error
 * paths (it can't see through the functions' return value otherwise). */
static inline int err_code_(int code, int ignored)
{
    (void)ignored;
    return code;
}
#define err_set(e, code, ...)         err_code_((code), err_set((e), (code), __VA_ARGS__))
#define err_sys(e, code, errnum, ...) err_code_((code), err_sys((e), (code), (errnum), __VA_ARGS__))
/* Static name of a code, e.g. "EINVAL". */
const char *err_name(int code);

#endif
