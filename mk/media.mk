# mk/media.mk - build pieces of src/media (FFmpeg decoding, libarchive), included by the
# Makefile before PKGS is used. Debian packages: scripts/deps-media.txt.

PKGS += libavformat libavcodec libswscale libavutil libarchive

# The Makefile sets BUILD after including us; recursive calls pass it on the command line.
BUILD ?= build/release

# The media tests share one header of FFmpeg encoders that make their test videos and images.
$(BUILD)/tests/test_media $(BUILD)/tests/test_media_pipe $(BUILD)/tests/test_media_image: \
    tests/test_media_enc.h

# test_media holds LeakSanitizer's suppressions hook (libx265's own leaks); the sanitizer
# runtime, a shared library, finds it only if the executable exports it.
$(BUILD)/tests/test_media: LDFLAGS += -Wl,--export-dynamic-symbol=__lsan_default_suppressions
# test_media_pipe sets a small ASan quarantine (see the test) through ASan's options hook.
$(BUILD)/tests/test_media_pipe: LDFLAGS += -Wl,--export-dynamic-symbol=__asan_default_options

# The video end-to-end test makes its short test video with the same encoders.
$(BUILD)/tests/e2e_video: tests/test_media_enc.h
