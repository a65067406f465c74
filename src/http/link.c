/* link.c - see link.h. */
#include "http/link.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_link_sign(const char *token, const char *id, int64_t expires,
                    char sig[HTTP_LINK_SIG_HEX + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "vas-link\n%s\n%lld", id, (long long)expires);

    if (n < 0 || (size_t)n >= sizeof(msg) ||
        !HMAC(EVP_sha256(), token, (int)strlen(token), (const unsigned char *)msg, (size_t)n, mac,
              &len) ||
        len * 2 != HTTP_LINK_SIG_HEX) {
        memset(sig, '0', HTTP_LINK_SIG_HEX); /* never matches a real signature's check below */
        sig[HTTP_LINK_SIG_HEX] = '\0';
        return;
    }
    for (unsigned i = 0; i < len; i++)
        snprintf(sig + 2 * i, 3, "%02x", mac[i]);
}

int http_link_check(const char *token, const char *id, const char *expires, const char *signature,
                    int64_t now, const char **why)
{
    char want[HTTP_LINK_SIG_HEX + 1], *end;
    long long t;

    *why = "is not valid";
    if (!expires || !signature || strlen(signature) != HTTP_LINK_SIG_HEX || !*expires)
        return 0;
    errno = 0;
    t = strtoll(expires, &end, 10);
    if (errno || *end || t <= 0)
        return 0;
    http_link_sign(token, id, t, want);
    if (strspn(want, "0") == HTTP_LINK_SIG_HEX ||
        CRYPTO_memcmp(want, signature, HTTP_LINK_SIG_HEX) != 0)
        return 0;
    if (t < now) {
        *why = "has expired";
        return 0;
    }
    return 1;
}
