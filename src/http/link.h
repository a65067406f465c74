/* link.h - signed download links: "/file/<id>?expires=<unix>&signature=<hex>" lets a GET or HEAD
 * of that one file through without the bearer token until it expires, so that a browser's
 * <video>, <img> and download links work on a server with a token (they cannot send headers)
 * while the token itself never appears in a URL. The signature is HMAC-SHA256 keyed with the API
 * token over the id and the expiry: changing the token revokes every link. Pure functions: any
 * thread. */
#ifndef VAS_HTTP_LINK_H
#define VAS_HTTP_LINK_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_LINK_TTL_S   86400 /* a link is good for a day */
#define HTTP_LINK_SIG_HEX 64

/* The signature (HTTP_LINK_SIG_HEX hex digits and a NUL) of file id until expires. */
void http_link_sign(const char *token, const char *id, int64_t expires,
                    char sig[HTTP_LINK_SIG_HEX + 1]);

/* Whether the link's expires (decimal text) and signature (hex) let a request for file id through
 * at time now: 1 yes; 0 no, with why ("has expired", "is not valid") for the answer's message. */
int http_link_check(const char *token, const char *id, const char *expires, const char *signature,
                    int64_t now, const char **why);

#endif
