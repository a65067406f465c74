/* cache_key.c - the key of identical work, shared by the HTTP check (a cached result instead of a
 * new job) and by jobs that reuse an earlier analysis's output (label reuses video's poses). */
#include "analyses/analysis.h"
#include "core/digest.h"
#include "store/store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void analysis_cache_key(const store_analysis *a, const char *model_sha1, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *args = json_dumps(a->args, JSON_COMPACT | JSON_SORT_KEYS);
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    out[0] = '\0';
    if (c && args && EVP_DigestInit_ex(c, EVP_sha1(), NULL)) {
        EVP_DigestUpdate(c, a->name, strlen(a->name) + 1);
        EVP_DigestUpdate(c, model_sha1, strlen(model_sha1) + 1);
        for (int i = 0; i < a->n_inputs; i++)
            EVP_DigestUpdate(c, a->inputs[i], strlen(a->inputs[i]) + 1);
        EVP_DigestUpdate(c, args, strlen(args));
        EVP_DigestFinal_ex(c, md, &n);
        digest_hex(md, n, out);
    }
    EVP_MD_CTX_free(c);
    free(args);
}
