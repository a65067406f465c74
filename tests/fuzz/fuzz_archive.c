/* fuzz_archive - a zip or tar of images (media/media_archive.h) as the image analyses read it:
 * the headers libarchive reads, vas's name filtering and sorting, its notes, and the entries
 * read and decoded (FFmpeg) one at a time, under limits small enough that bombs reach them
 * (LIMIT_ARCHIVE_MEMBERS 1000, LIMIT_ARCHIVE_BYTES 4 MiB, LIMIT_IMAGE_PIXELS 1 M). */
#include "fuzz.h"
#include "media/media_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const media_limits lim = {
        .image_pixels = 1 << 20,
        .video_pixels = 1 << 20,
        .video_frames = 1000,
        .archive_members = 1000,
        .archive_bytes = 4 << 20,
    };
    const char *path = fuzz_write("images.zip", data, size);
    media_archive *a = NULL;
    vas_err e = {0};

    if (media_archive_open_lim(path, &lim, &a, &e) == VAS_OK) {
        const char *const *notes = NULL;
        size_t n_notes = 0;
        const char *name = NULL;
        media_image im = {0};
        if (media_archive_count(a) == 0)
            abort(); /* open refuses an archive without images */
        for (int i = 0; i < 4 && media_archive_next(a, &im, &name, &e) == 1; i++) {
            if (!name || im.width <= 0 || im.height <= 0 ||
                (int64_t)im.width * im.height > lim.image_pixels)
                abort(); /* a decoded entry has a name, a size, and is within the limit */
            media_image_clear(&im);
        }
        media_archive_skipped(a, &notes, &n_notes);
        for (size_t i = 0; i < n_notes; i++)
            if (!notes[i])
                abort();
        media_archive_close(a);
    }
    return 0;
}
