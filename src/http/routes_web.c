/* routes_web.c - the web page: GET / and GET /view/<analysis id> answer web/index.html, and
 * GET /static/<name> the other files of web/, all embedded in the binary (web_assets.h). They need
 * no token: the page asks the person for it and sends it on its API calls. Every answer carries a
 * content security policy that lets the page load only its own scripts, styles and media. */
#include "http/http_int.h"
#include "http/web_assets.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define WEB_MAX_ASSETS 32

static const char csp[] = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                          "style-src 'self'; script-src 'self'; connect-src 'self'; "
                          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

static char etags[WEB_MAX_ASSETS][44]; /* "\"<sha1 hex>\"" of web_assets[i] */
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void etags_make(void)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    for (int i = 0; i < WEB_MAX_ASSETS && web_assets[i].name; i++) {
        SHA1(web_assets[i].data, web_assets[i].size, md);
        etags[i][0] = '"';
        for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
            snprintf(etags[i] + 1 + 2 * k, 3, "%02x", md[k]);
        snprintf(etags[i] + 41, 3, "\"");
    }
}

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } t[] = {{".html", "text/html; charset=utf-8"},
             {".js", "text/javascript; charset=utf-8"},
             {".css", "text/css; charset=utf-8"},
             {".svg", "image/svg+xml"},
             {".png", "image/png"},
             {".ico", "image/x-icon"}};
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(dot, t[i].ext))
            return t[i].type;
    return "application/octet-stream";
}

/* Answers the embedded file called name: 200, or 304 when the client has this version. The
 * client revalidates every time (no-cache), so a new vas binary's page is seen at once. */
static int reply_asset(http_req *r, const char *name)
{
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
    int i;

    pthread_once(&etags_once, etags_make);
    for (i = 0; i < WEB_MAX_ASSETS && web_assets[i].name; i++)
        if (!strcmp(web_assets[i].name, name))
            break;
    if (i == WEB_MAX_ASSETS || !web_assets[i].name)
        return reply_error(r, MHD_HTTP_NOT_FOUND, "there is nothing at %s", r->path);
    const char *const hdrs[] = {"ETag",
                                etags[i],
                                "Cache-Control",
                                "no-cache",
                                "Content-Security-Policy",
                                csp,
                                "X-Content-Type-Options",
                                "nosniff",
                                "Referrer-Policy",
                                "no-referrer",
                                NULL};
    if (inm && strstr(inm, etags[i]))
        return reply_const(r, MHD_HTTP_NOT_MODIFIED, NULL, "", 0, hdrs);
    return reply_const(r, MHD_HTTP_OK, type_of(name), web_assets[i].data, web_assets[i].size, hdrs);
}

int web_page(http_req *r)
{
    return reply_asset(r, "index.html");
}

int web_static(http_req *r)
{
    return reply_asset(r, r->id);
}
