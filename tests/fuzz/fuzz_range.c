/* fuzz_range - the Range and If-None-Match header parsers (http/range.h). The input is split at
 * its first NUL: the header value, then an entity tag for If-None-Match (the Range value is
 * tried against a few resource sizes). */
#include "fuzz.h"
#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t sizes[] = {0, 1, 100, INT64_MAX};
    char *h = malloc(size + 1);
    const char *etag;
    int64_t start, len;

    if (!h)
        return 0;
    memcpy(h, data, size);
    h[size] = 0;
    etag = h + strlen(h) + (strlen(h) < size);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int rc = range_parse(h, sizes[i], &start, &len);
        if (rc == RANGE_PARTIAL &&
            (start < 0 || len <= 0 || start > sizes[i] || len > sizes[i] - start))
            abort(); /* a partial range must lie inside the resource */
    }
    range_etag_match(h, *etag ? etag : "\"abc\"");
    free(h);
    return 0;
}
