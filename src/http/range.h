/* range.h - HTTP Range and If-None-Match parsing (RFC 9110), pure functions for unit tests.
 * Threads: any. */
#ifndef VAS_RANGE_H
#define VAS_RANGE_H

#include <stdint.h>

enum { RANGE_FULL = 0, RANGE_PARTIAL = 1, RANGE_UNSATISFIABLE = -1 };

/* One "bytes=a-b" / "bytes=a-" / "bytes=-n" range against a resource of size bytes.
 * RANGE_PARTIAL with *start and *len; RANGE_FULL for no header, a malformed header, or several
 * ranges (answering 200 with everything is allowed); RANGE_UNSATISFIABLE -> 416. */
int range_parse(const char *h, int64_t size, int64_t *start, int64_t *len);
/* 1 if an If-None-Match header value matches the entity tag etag (quoted), incl. "*", lists and
 * weak "W/" tags. */
int range_etag_match(const char *h, const char *etag);

#endif
