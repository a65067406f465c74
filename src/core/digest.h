/* digest.h - SHA-1 as vas's ids and fingerprints use it: lowercase hex of 40 characters, of a
 * buffer or of a whole file (OpenSSL's EVP). Owns nothing. Not: the streaming hash of uploads
 * (store_writer.c hashes while it writes). Threads: any. */
#ifndef VAS_DIGEST_H
#define VAS_DIGEST_H

#include "core/err.h"

#include <stddef.h>

#define DIGEST_HEX_LEN 40

/* md (n bytes) as lowercase hex into out (2n + 1 bytes). */
void digest_hex(const unsigned char *md, size_t n, char *out);
/* SHA-1 of p[0..n) as hex into out. */
void digest_sha1_hex(const void *p, size_t n, char out[DIGEST_HEX_LEN + 1]);
/* SHA-1 of the file at path as hex into out; VAS_EINVAL naming it when it cannot be read. */
int digest_file_sha1(const char *path, char out[DIGEST_HEX_LEN + 1], vas_err *e);

#endif
