/* fuzz_archive - listing a zip or tar of images (media/media_archive.h media_archive_open): the
 * headers libarchive reads, vas's name filtering and sorting, and its notes. Decoding the
 * entries' pixels (FFmpeg) is not fuzzed here. */
#include "fuzz.h"
#include "media/media_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("images.zip", data, size);
    media_archive *a = NULL;
    vas_err e = {0};

    if (media_archive_open(path, &a, &e) == VAS_OK) {
        const char *const *notes = NULL;
        size_t n_notes = 0;
        if (media_archive_count(a) == 0)
            abort(); /* open refuses an archive without images */
        media_archive_skipped(a, &notes, &n_notes);
        for (size_t i = 0; i < n_notes; i++)
            if (!notes[i])
                abort();
        media_archive_close(a);
    }
    return 0;
}
