/* multipart.h - a streaming multipart/form-data parser (RFC 7578, RFC 2046 5.1) for request
 * bodies that carry a file: POST /file. It hands each part's body to a hook as pointers into the
 * bytes it was fed, so a file part reaches the store without a copy of our own, in the sizes the
 * connection delivers them (libmicrohttpd's post processor copies everything through a 64 KiB
 * buffer and stops at every CR of the file to look for the boundary). The delimiter is found
 * with memmem over each whole chunk; only a delimiter cut by a chunk's end is remembered, as the
 * number of its bytes already seen.
 *
 * Strict: the body is a preamble (ignored, as RFC 2046 asks), parts, and the close delimiter
 * followed by at most CRLF; each part's headers end with an empty line, CRLF only, at most
 * HTTP_MP_HEADER_MAX bytes; a Content-Disposition must be form-data. A part's name, filename and
 * Content-Type are passed as sent ("" or absent as NULL); quoted values end at the next '"', as
 * browsers send them (they escape '"' as %22) and as libmicrohttpd reads them.
 *
 * Owns: its state and one part's header bytes. Not: what parts mean (body.c).
 * Threads: a parser is used by one thread at a time (the request's). */
#ifndef VAS_HTTP_MULTIPART_H
#define VAS_HTTP_MULTIPART_H

#include "core/err.h"

#include <stddef.h>

#define HTTP_MP_BOUNDARY_MAX 200        /* RFC 2046 says 70; clients stay well under this */
#define HTTP_MP_HEADER_MAX   (8u << 10) /* one part's header lines */

typedef struct http_mp http_mp;

/* A part's headers, borrowed for the begin hook's call. */
typedef struct http_mp_part {
    const char *name;     /* Content-Disposition's name; NULL when absent */
    const char *filename; /* its filename; NULL when absent */
    const char *ctype;    /* the part's Content-Type; NULL when absent */
} http_mp_part;

/* What the parser calls, in order: begin, data (zero or more times), end, for each part. A hook
 * returns 0 to go on or a negative VAS_E* to stop; the parser then returns it and stays failed. */
typedef struct http_mp_hooks {
    int (*begin)(void *arg, const http_mp_part *part);
    int (*data)(void *arg, const char *p, size_t n); /* p borrowed for the call; n > 0 */
    int (*end)(void *arg);
} http_mp_hooks;

/* New parser in *out (caller frees: http_mp_free) for a body whose Content-Type is ctype
 * (borrowed; its boundary parameter, quoted or not, is copied). VAS_EINVAL when ctype has no
 * usable boundary (absent, empty, too long, or with CR or LF in it); VAS_ENOMEM. hooks and arg
 * are borrowed for the parser's life. */
int http_mp_new(const char *ctype, const http_mp_hooks *hooks, void *arg, http_mp **out,
                vas_err *e);
/* Parses the next n bytes of the body (p borrowed). VAS_OK; VAS_EINVAL when the body is not
 * well formed (why in e); or a hook's code (e untouched: the hook says why). Once failed, every
 * later call returns the same code. */
int http_mp_feed(http_mp *m, const char *p, size_t n, vas_err *e);
/* The body has ended: VAS_OK when it ended with the close delimiter, else VAS_EINVAL (or the
 * code it failed with before). */
int http_mp_finish(http_mp *m, vas_err *e);
/* NULL is a no-op. */
void http_mp_free(http_mp *m);

#endif
