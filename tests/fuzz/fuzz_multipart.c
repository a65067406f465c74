/* fuzz_multipart - the streaming multipart/form-data parser of POST /file (http/multipart.h).
 * The input is "<Content-Type value>\n<body>" (the corpus of fuzz_http_body has the same form).
 * The body is parsed twice: fed whole, and fed in pieces whose sizes come from the input's own
 * bytes (1 to 64 bytes, so delimiters and header blocks are cut everywhere). Both must end with
 * the same result and the same hook calls' content (begin's headers, the data's bytes, end), and
 * the data hook never gets 0 bytes: anything else aborts. */
#include "fuzz.h"
#include "http/multipart.h"

typedef struct rec {
    char *s;
    size_t n, cap;
} rec;

static int add(rec *r, const char *p, size_t n)
{
    if (r->n + n > r->cap) {
        size_t cap = (r->n + n) * 2 + 64;
        char *s = realloc(r->s, cap);
        if (!s)
            abort();
        r->s = s;
        r->cap = cap;
    }
    memcpy(r->s + r->n, p, n);
    r->n += n;
    return 0;
}

static int on_begin(void *arg, const http_mp_part *pt)
{
    const char *v[3] = {pt->name, pt->filename, pt->ctype};

    add(arg, "\x01", 1);
    for (int i = 0; i < 3; i++) {
        add(arg, v[i] ? v[i] : "\x02", v[i] ? strlen(v[i]) : 1);
        add(arg, "\x03", 1);
    }
    return 0;
}

static int on_data(void *arg, const char *p, size_t n)
{
    if (n == 0)
        abort();
    return add(arg, p, n);
}

static int on_end(void *arg)
{
    return add(arg, "\x04", 1);
}

static const http_mp_hooks hooks = {on_begin, on_data, on_end};

/* Parses body; step NULL: whole, else piece sizes taken in turn from step[0..nstep). */
static int parse(const char *ct, const char *body, size_t n, const uint8_t *step, size_t nstep,
                 rec *r)
{
    http_mp *m = NULL;
    vas_err e = {0};
    size_t off = 0, i = 0;
    int rc = http_mp_new(ct, &hooks, r, &m, &e);

    if (rc < 0)
        return rc;
    while (rc == VAS_OK && off < n) {
        size_t k = step && nstep ? (size_t)(step[i++ % nstep] % 64) + 1 : n - off;
        if (k > n - off)
            k = n - off;
        rc = http_mp_feed(m, body + off, k, &e);
        off += k;
    }
    if (rc == VAS_OK)
        rc = http_mp_finish(m, &e);
    http_mp_free(m);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ctn = nl ? (size_t)(nl - data) : size;
    char *ct = malloc(ctn + 1);
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t n = nl ? size - ctn - 1 : 0;
    rec a = {0}, b = {0};
    int ra, rb;

    if (!ct)
        return 0;
    memcpy(ct, data, ctn);
    ct[ctn] = '\0';
    ra = parse(ct, body, n, NULL, 0, &a);
    rb = parse(ct, body, n, data, size, &b);
    if (ra != rb || a.n != b.n || (a.n && memcmp(a.s, b.s, a.n) != 0))
        abort(); /* the result must not depend on how the body was cut */
    free(a.s);
    free(b.s);
    free(ct);
    return 0;
}
