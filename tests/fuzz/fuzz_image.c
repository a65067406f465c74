/* fuzz_image - image decoding (media/media_image.h): the bytes of an uploaded image, as the image
 * and label-image analyses read them, decoded by FFmpeg's image decoders (PNG, JPEG, BMP, TIFF,
 * ...) through media_image_decode, then EXIF orientation applied. A decoded image must have a
 * size and pixels. */
#include "fuzz.h"
#include "media/media_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    media_image im = {0};
    vas_err e = {0};

    (void)fuzz_dir(); /* quiet logs */
    if (media_image_decode(data, size, "fuzz.png", &im, &e) == VAS_OK) {
        if (im.width <= 0 || im.height <= 0 || !im.rgb)
            abort();
        /* Touch the last pixel: the buffer must hold width x height x 3 bytes. */
        volatile uint8_t last = im.rgb[(size_t)im.width * (size_t)im.height * 3 - 1];
        (void)last;
    }
    media_image_clear(&im);
    return 0;
}
