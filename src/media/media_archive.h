/* media_archive.h - the images inside a zip or tar archive (any archive format and compression
 * libarchive reads: zip, tar, tar.gz, tar.xz, 7z...), handed out one at a time in name order,
 * like DeepLabCut's analyze_time_lapse_frames over a folder.
 * Owns: one libarchive reader at a time and the current entry's bytes.
 * Not: decoding pixels (media_image.h).
 *
 * DESIGN
 * Open reads every header once (data skipped) and keeps the regular files whose names end in
 * an image extension, sorted by name (byte order, as Python's sorted() orders names). Entries
 * are then read in that order: the reader moves forward through the archive and is reopened
 * only when the next name lies behind it, so an archive written in name order is read in one
 * pass, and memory holds one entry at a time whatever the archive's size.
 * Skipped, each with a note for the caller to show: regular files without an image name,
 * image-named entries FFmpeg cannot decode, and macOS's __MACOSX/ and ._ metadata. Folders
 * and links are passed over silently. An archive that libarchive cannot read, or that holds
 * no image, fails with VAS_EINVAL.
 *
 * Limits (media_archive_open_lim): the entries are counted while the headers are listed, so an
 * archive of more than LIMIT_ARCHIVE_MEMBERS entries is refused at the first one over; the
 * sizes the headers declare are summed and refused over LIMIT_ARCHIVE_BYTES at open; and, as
 * headers lie, the bytes actually read out of entries are counted and reading stops as soon as
 * they pass the limit. Entries are only ever read into memory (one at a time), never to disk,
 * so a refused archive leaves nothing behind.
 *
 * Threads: one thread at a time per media_archive; different archives are independent. */
#ifndef VAS_MEDIA_ARCHIVE_H
#define VAS_MEDIA_ARCHIVE_H

#include "core/err.h"
#include "media/media_image.h"

#include <stddef.h>

#define MEDIA_ARCHIVE_MAX_ENTRIES 1000000 /* entries read from one archive */
#define MEDIA_ARCHIVE_MAX_NOTES   100     /* notes kept; later skips are only counted */

typedef struct media_archive media_archive;

/* Opens the archive at path (borrowed) and lists its images. New archive in *out (caller
 * frees: media_archive_close); *out untouched on error. VAS_ENOTFOUND no such file;
 * VAS_EINVAL not an archive, damaged, or no image in it; VAS_ETOOBIG too many entries. */
int media_archive_open(const char *path, media_archive **out, vas_err *e);
/* The same under lim (borrowed; NULL or 0 fields: the built-in caps): VAS_ETOOBIG, naming
 * LIMIT_ARCHIVE_MEMBERS or LIMIT_ARCHIVE_BYTES, at open when the entries or their declared sizes
 * are over, and from media_archive_next once the bytes read pass lim->archive_bytes. Images are
 * decoded under lim->image_pixels (media_image_decode_lim). */
int media_archive_open_lim(const char *path, const media_limits *lim, media_archive **out,
                           vas_err *e);
/* Entries with image names: how many media_archive_next will try. */
size_t media_archive_count(const media_archive *a);
/* Decodes the next image in name order into *im (caller frees: media_image_clear) and points
 * *name at its path inside the archive (borrowed until media_archive_close). 1 with an image,
 * 0 when none is left, or < 0: VAS_EINVAL archive damaged, VAS_ETOOBIG an entry over
 * MEDIA_IMAGE_MAX_BYTES or a limit passed, VAS_ENOMEM. Entries that are not decodable images are
 * skipped with a note. */
int media_archive_next(media_archive *a, media_image *im, const char **name, vas_err *e);
/* Entries skipped so far (open's and next's), and up to MEDIA_ARCHIVE_MAX_NOTES sentences
 * saying which and why, in *notes (borrowed until media_archive_close). */
size_t media_archive_skipped(const media_archive *a, const char *const **notes, size_t *n_notes);
/* Frees a; NULL is a no-op. */
void media_archive_close(media_archive *a);

#endif
