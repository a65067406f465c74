/* digest.c - see digest.h. */
#include "core/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>

void digest_hex(const unsigned char *md, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void digest_sha1_hex(const void *p, size_t n, char out[DIGEST_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int k = 0;

    if (!EVP_Digest(p, n, md, &k, EVP_sha1(), NULL))
        k = 0;
    digest_hex(md, k, out);
}

int digest_file_sha1(const char *path, char out[DIGEST_HEX_LEN + 1], vas_err *e)
{
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    FILE *f = fopen(path, "rb");
    int rc = VAS_OK;
    size_t k;

    if (!f || !c || !EVP_DigestInit_ex(c, EVP_sha1(), NULL)) {
        rc = err_sys(e, VAS_EINVAL, errno, "cannot read %s", path);
        goto done;
    }
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(c, buf, k);
    if (ferror(f)) {
        rc = err_sys(e, VAS_EINVAL, errno, "cannot read %s", path);
        goto done;
    }
    EVP_DigestFinal_ex(c, md, &n);
    digest_hex(md, n, out);
done:
    if (f)
        fclose(f);
    EVP_MD_CTX_free(c);
    return rc;
}
