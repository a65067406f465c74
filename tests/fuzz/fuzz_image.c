/* fuzz_image - image decoding (media/media_image.h): the bytes of an uploaded image, as the image
 * and label-image analyses read them, decoded by FFmpeg's image decoders (PNG, JPEG, BMP, TIFF,
 * ...) through media_image_decode_lim under the service's default limits (config.c: 178,956,970
 * pixels), then EXIF orientation applied. A decoded image must have a size and pixels. */
#include "analyses/pose_job.h"
#include "core/config.h"
#include "fuzz.h"
#include "media/media_image.h"
#include "media/media_video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static media_limits lim;
    media_image im = {0};
    vas_err e = {0};

    if (!lim.image_pixels) {
        config c;
        if (config_defaults(&c, &e) < 0)
            abort();
        lim = pose_media_limits(&c.lim);
        config_free(&c);
        (void)fuzz_dir(); /* quiet logs */
    }
    if (media_image_decode_lim(data, size, "fuzz.png", &lim, &im, &e) == VAS_OK) {
        if (im.width <= 0 || im.height <= 0 || !im.rgb)
            abort();
        /* Touch the last pixel: the buffer must hold width x height x 3 bytes. */
        volatile uint8_t last = im.rgb[(size_t)im.width * (size_t)im.height * 3 - 1];
        (void)last;
    }
    media_image_clear(&im);
    return 0;
}
