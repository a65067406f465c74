/* multipart.c - the streaming multipart/form-data parser of multipart.h.
 *
 * The body is read as a run of states:
 *   PREAMBLE  bytes dropped up to the first delimiter
 *   AFTER     just after a delimiter's boundary: "--" (CLOSED), or padding (PAD) and CRLF (LF)
 *   HEADERS   a part's header lines, gathered into hdr up to the empty line; then begin hook
 *   BODY      the part's bytes, to the data hook, up to the next delimiter; then end hook
 *   CLOSED    after the close delimiter: CR (CLOSE_LF), LF, then DONE; nothing else may follow
 * The delimiter is CRLF "--" boundary. The body's first one may come without its CRLF: the
 * parser starts in PREAMBLE as if that CRLF had just been seen (match = 2). A boundary never holds
 * CR (http_mp_new refuses one), so CR is only ever the delimiter's first byte: a delimiter cut by
 * a chunk's end can only begin at the chunk's last CR, and the bytes held back for it (match) are
 * the delimiter's own first bytes, given to the data hook from delim if they turn out not to be
 * one. */
#include "http/multipart.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    MP_PREAMBLE,
    MP_AFTER,
    MP_PAD,
    MP_LF,
    MP_DASH2,
    MP_HEADERS,
    MP_BODY,
    MP_CLOSED,
    MP_CLOSE_LF,
    MP_DONE,
    MP_FAILED
};

struct http_mp {
    const http_mp_hooks *h;
    void *arg;
    int state;    /* MP_* */
    int rc;       /* the code it failed with (MP_FAILED) */
    int in_part;  /* a part's begin hook was called, its end hook not yet */
    size_t dlen;  /* bytes in delim */
    size_t match; /* the delimiter's first bytes seen at the end of the last chunk, held back */
    size_t hlen;  /* bytes in hdr */
    char delim[4 + HTTP_MP_BOUNDARY_MAX + 1];
    char hdr[2 + HTTP_MP_HEADER_MAX + 1]; /* "\r\n", then the part's header lines */
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static char *skip_ws(char *p)
{
    while (is_ws(*p))
        p++;
    return p;
}

/* The next `; key=value` parameter of a header value at *p, both NUL-terminated in place (a
 * quoted value ends at the next '"'). 1 with *key and *val set, 0 at the end, -1 malformed. */
static int param_next(char **p, char **key, char **val)
{
    char *s = skip_ws(*p), *kend, *vend;

    while (*s == ';' || is_ws(*s))
        s++;
    if (!*s)
        return 0;
    *key = s;
    while (*s && *s != '=' && *s != ';' && !is_ws(*s))
        s++;
    kend = s;
    s = skip_ws(s);
    if (*s != '=' || kend == *key)
        return -1;
    s = skip_ws(s + 1);
    if (*s == '"') {
        *val = ++s;
        vend = strchr(s, '"');
        if (!vend)
            return -1;
        s = vend + 1;
    } else {
        *val = s;
        while (*s && *s != ';' && !is_ws(*s))
            s++;
        vend = s;
    }
    s = skip_ws(s);
    if (*s && *s != ';')
        return -1;
    if (*s)
        s++;
    *kend = '\0';
    *vend = '\0';
    *p = s;
    return 1;
}

int http_mp_new(const char *ctype, const http_mp_hooks *hooks, void *arg, http_mp **out, vas_err *e)
{
    char *copy = strdup(ctype ? ctype : ""), *p = copy, *key, *val;
    const char *b = NULL;
    http_mp *m = NULL;

    if (!copy)
        return err_set(e, VAS_ENOMEM, "out of memory");
    p = strchr(copy, ';');
    while (p && param_next(&p, &key, &val) > 0) /* a malformed parameter ends the list */
        if (!strcasecmp(key, "boundary") && !b)
            b = val;
    if (!b || !*b || strlen(b) > HTTP_MP_BOUNDARY_MAX || strpbrk(b, "\r\n")) {
        free(copy);
        return err_set(e, VAS_EINVAL, "a multipart body needs a boundary of 1 to %d characters",
                       HTTP_MP_BOUNDARY_MAX);
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        free(copy);
        return err_set(e, VAS_ENOMEM, "out of memory");
    }
    m->h = hooks;
    m->arg = arg;
    m->dlen = 4 + strlen(b);
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, b, m->dlen - 4);
    m->state = MP_PREAMBLE;
    m->match = 2; /* the body's first delimiter may come without its CRLF */
    free(copy);
    *out = m;
    return VAS_OK;
}

void http_mp_free(http_mp *m)
{
    free(m);
}

static int fail(http_mp *m, int rc)
{
    m->state = MP_FAILED;
    m->rc = rc;
    return rc;
}

/* Gives body bytes to the data hook; the preamble's are dropped. */
static int emit(http_mp *m, const char *p, size_t n)
{
    if (n == 0 || m->state == MP_PREAMBLE)
        return VAS_OK;
    return m->h->data(m->arg, p, n);
}

/* A whole delimiter was seen: the part before it (if any) ends. */
static int delimiter(http_mp *m)
{
    m->state = MP_AFTER;
    if (!m->in_part)
        return VAS_OK;
    m->in_part = 0;
    return m->h->end(m->arg);
}

/* PREAMBLE and BODY: bytes up to the next delimiter. *used: bytes of p consumed. */
static int scan(http_mp *m, const char *p, size_t n, size_t *used)
{
    const char *hit;
    size_t k, from;
    int rc;

    if (m->match > 0) { /* does this chunk finish the delimiter the last one began? */
        size_t need = m->dlen - m->match;
        k = n < need ? n : need;
        *used = 0;
        if (memcmp(p, m->delim + m->match, k) != 0) {
            rc = emit(m, m->delim, m->match); /* they were body bytes after all */
            m->match = 0;
            return rc;
        }
        *used = k;
        m->match += k;
        if (m->match < m->dlen)
            return VAS_OK;
        m->match = 0;
        return delimiter(m);
    }
    hit = memmem(p, n, m->delim, m->dlen);
    if (hit) {
        *used = (size_t)(hit - p) + m->dlen;
        rc = emit(m, p, (size_t)(hit - p));
        return rc < 0 ? rc : delimiter(m);
    }
    /* No whole delimiter: hold back a tail that may begin one (it begins at the last CR). */
    from = n >= m->dlen ? n - (m->dlen - 1) : 0;
    hit = memrchr(p + from, '\r', n - from);
    k = hit && memcmp(hit, m->delim, n - (size_t)(hit - p)) == 0 ? n - (size_t)(hit - p) : 0;
    *used = n;
    m->match = k;
    return emit(m, p, n - k);
}

/* Content-Disposition: form-data; name="..."; filename="..." (value NUL-terminated, in hdr). */
static int disposition(char *v, http_mp_part *pt, vas_err *e)
{
    char *p = v, *key, *val;
    int k;

    while (*p && *p != ';' && !is_ws(*p))
        p++;
    if ((size_t)(p - v) != 9 || strncasecmp(v, "form-data", 9) != 0)
        return err_set(e, VAS_EINVAL, "a part's Content-Disposition is not form-data");
    while ((k = param_next(&p, &key, &val)) > 0) {
        if (!strcasecmp(key, "name") && !pt->name)
            pt->name = val;
        else if (!strcasecmp(key, "filename") && !pt->filename)
            pt->filename = val;
    }
    if (k < 0)
        return err_set(e, VAS_EINVAL, "a part's Content-Disposition is malformed");
    return VAS_OK;
}

/* Parses hdr's lines (each CRLF-terminated, NUL after the last) into pt. */
static int parse_headers(http_mp *m, size_t len, http_mp_part *pt, vas_err *e)
{
    char *line = m->hdr + 2, *end = m->hdr + 2 + len, *eol, *colon, *v, *t;
    int seen_cd = 0;

    if (memchr(line, '\0', len))
        return err_set(e, VAS_EINVAL, "a part's headers hold a NUL byte");
    while (line < end) {
        eol = strstr(line, "\r\n");
        *eol = '\0';
        colon = strchr(line, ':');
        if (!colon || colon == line || strpbrk(line, "\r\n") || line + strcspn(line, " \t") < colon)
            return err_set(e, VAS_EINVAL, "a part has a malformed header line");
        *colon = '\0';
        v = skip_ws(colon + 1);
        t = v + strlen(v);
        while (t > v && is_ws(t[-1]))
            *--t = '\0';
        if (!strcasecmp(line, "Content-Disposition")) {
            if (seen_cd++)
                return err_set(e, VAS_EINVAL, "a part has two Content-Disposition headers");
            if (disposition(v, pt, e) < 0)
                return VAS_EINVAL;
        } else if (!strcasecmp(line, "Content-Type")) {
            pt->ctype = v;
        }
        line = eol + 2;
    }
    return VAS_OK;
}

/* HEADERS: gathers a part's header lines up to the empty line, then calls the begin hook. */
static int headers(http_mp *m, const char *p, size_t n, size_t *used, vas_err *e)
{
    size_t room = sizeof(m->hdr) - 1 - m->hlen, k = n < room ? n : room;
    size_t from = m->hlen >= 3 ? m->hlen - 3 : 0, stop;
    http_mp_part pt = {0};
    const char *end;
    int rc;

    memcpy(m->hdr + m->hlen, p, k);
    m->hlen += k;
    end = memmem(m->hdr + from, m->hlen - from, "\r\n\r\n", 4);
    if (!end) {
        *used = k;
        if (m->hlen == sizeof(m->hdr) - 1)
            return err_set(e, VAS_EINVAL, "a part's headers are larger than %u bytes",
                           HTTP_MP_HEADER_MAX);
        return VAS_OK;
    }
    stop = (size_t)(end - m->hdr) + 4; /* hdr's bytes up to and with the empty line */
    *used = k - (m->hlen - stop);
    m->hdr[stop - 2] = '\0';
    rc = parse_headers(m, stop - 4, &pt, e);
    if (rc < 0)
        return rc;
    m->state = MP_BODY;
    m->in_part = 1;
    return m->h->begin(m->arg, &pt);
}

/* The states of one byte each, after a boundary and after the close delimiter. */
static int one_byte(http_mp *m, char c, vas_err *e)
{
    static const char *const after_close = "the body goes on after its closing boundary";
    int s = m->state;

    if ((s == MP_AFTER && c == '-') || (s == MP_DASH2 && c == '-')) {
        m->state = s == MP_AFTER ? MP_DASH2 : MP_CLOSED;
    } else if ((s == MP_AFTER || s == MP_PAD) && (is_ws(c) || c == '\r')) {
        m->state = c == '\r' ? MP_LF : MP_PAD;
    } else if (s == MP_LF && c == '\n') {
        m->state = MP_HEADERS;
        memcpy(m->hdr, "\r\n", 2);
        m->hlen = 2;
    } else if (s == MP_CLOSED && c == '\r') {
        m->state = MP_CLOSE_LF;
    } else if (s == MP_CLOSE_LF && c == '\n') {
        m->state = MP_DONE;
    } else {
        return err_set(e, VAS_EINVAL, "%s",
                       s >= MP_CLOSED ? after_close : "a boundary line does not end with CRLF");
    }
    return VAS_OK;
}

int http_mp_feed(http_mp *m, const char *p, size_t n, vas_err *e)
{
    size_t used;
    int rc;

    while (n > 0 && m->state != MP_FAILED) {
        used = 1;
        if (m->state == MP_PREAMBLE || m->state == MP_BODY)
            rc = scan(m, p, n, &used);
        else if (m->state == MP_HEADERS)
            rc = headers(m, p, n, &used, e);
        else
            rc = one_byte(m, *p, e);
        if (rc < 0)
            return fail(m, rc);
        p += used;
        n -= used;
    }
    return m->state == MP_FAILED ? m->rc : VAS_OK;
}

int http_mp_finish(http_mp *m, vas_err *e)
{
    if (m->state == MP_FAILED)
        return m->rc;
    if (m->state != MP_CLOSED && m->state != MP_DONE)
        return fail(m, err_set(e, VAS_EINVAL, "it ends before its closing boundary"));
    return VAS_OK;
}
