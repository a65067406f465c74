/* fuzz_link - the signed download link check (http/link.h) on untrusted query values. The input
 * is split at NULs: the file id, the expires value, the signature. A link accepted must be the
 * one http_link_sign makes for that id and expiry. */
#include "fuzz.h"
#include "http/link.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 3), sig[HTTP_LINK_SIG_HEX + 1];
    const char *id, *expires, *signature, *why = NULL;

    if (!p)
        return 0;
    memcpy(p, data, size);
    p[size] = p[size + 1] = p[size + 2] = 0;
    id = p;
    expires = id + strlen(id) + 1;
    signature = expires + strlen(expires) + 1;
    if (http_link_check("token", id, expires, signature, 1000, &why)) {
        http_link_sign("token", id, strtoll(expires, NULL, 10), sig);
        if (strcmp(sig, signature) != 0)
            abort(); /* let through without the right signature */
    } else if (!why) {
        abort(); /* refused without a reason */
    }
    free(p);
    return 0;
}
