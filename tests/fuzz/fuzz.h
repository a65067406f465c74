/* fuzz.h - what the libFuzzer targets in tests/fuzz/ share: one temporary file (or folder) per
 * process for the parsers whose API takes a path, and quiet logs. Header-only (each target is one
 * .c file linked with build/fuzz/libvas.a). */
#ifndef VAS_FUZZ_H
#define VAS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process's own folder under $TMPDIR (or /tmp), made on first use and kept: every input
 * reuses it, so a run leaves one folder per fuzzing process, not one file per input. Also turns
 * logging down to errors (parsers log what they skip). */
static inline const char *fuzz_dir(void)
{
    static char dir[256];

    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof(dir), "%s/vas-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
            abort();
        log_set_level(LOG_ERROR);
    }
    return dir;
}

/* Writes data to <fuzz_dir>/name (replacing it) and returns its path (a static buffer, valid
 * until the next call). */
static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
    f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    if (fclose(f) != 0)
        abort();
    return path;
}

#endif
