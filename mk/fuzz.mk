# mk/fuzz.mk - libFuzzer targets for the parsers of untrusted bytes (tests/fuzz/fuzz_*.c).
#
#   make fuzz             build every target, run each FUZZ_S seconds (default 20) over a copy of
#                         its seed corpus (tests/fuzz/corpus/<target>/); one line per target;
#                         non-zero exit on any crash (inputs kept in build/fuzz/crashes/<target>/)
#   make fuzz-build       build only
#
# A separate copy of libvas built with Debian's clang under libFuzzer's coverage instrumentation,
# ASan and UBSan, all in build/fuzz/ (its own object rules: nothing here touches the gcc variants
# or their flags). -Werror is left out: clang warns about things gcc does not, and this build is
# for finding crashes, not for the warning policy (the gcc builds keep that). nn_arena.c is built
# without -fopenmp (clang's OpenMP runtime is not gcc's libgomp, which oneDNN uses); its pragmas
# are then ignored and its loops run on one thread, which is what a fuzzer wants anyway.

FUZZ_CC  ?= clang-14
FUZZ_S   ?= 20
FUZZ_DIR := build/fuzz
FUZZ_GEN := $(FUZZ_DIR)/gen
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Recursively expanded: PKGS is complete only after every mk file has been read.
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -g -O1 -pthread -Isrc -I$(FUZZ_GEN) -Wno-unknown-pragmas \
              $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(shell pkg-config --cflags $(PKGS))
FUZZ_LDLIBS = $(shell pkg-config --libs $(PKGS)) -lm -pthread

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/bin/%)
FUZZ_LIB_SRC := $(filter-out src/main.c,$(wildcard src/*/*.c))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:src/%.c=$(FUZZ_DIR)/obj/%.o) \
                $(FUZZ_GEN)/onnx_subset.pb-c.o $(FUZZ_GEN)/tf_subset.pb-c.o $(FUZZ_GEN)/web_assets.o

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@tests/fuzz/run $(FUZZ_DIR) $(FUZZ_S)

$(FUZZ_GEN)/%.pb-c.c $(FUZZ_GEN)/%.pb-c.h: src/nn/%.proto
	@mkdir -p $(FUZZ_GEN)
	protoc-c --c_out=$(FUZZ_GEN) -Isrc/nn $<

# Kept: the objects' order-only prerequisites would otherwise be removed as intermediates.
.PRECIOUS: $(FUZZ_GEN)/%.pb-c.c $(FUZZ_GEN)/%.pb-c.h

# The web page (mk/web.mk), so that the HTTP objects link.
$(FUZZ_GEN)/web_assets.c: $(wildcard web/*) scripts/embed
	@mkdir -p $(FUZZ_GEN)
	scripts/embed $@ $(sort $(wildcard web/*))

$(FUZZ_GEN)/web_assets.o: $(FUZZ_GEN)/web_assets.c src/http/web_assets.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_GEN)/%.pb-c.o: $(FUZZ_GEN)/%.pb-c.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# Every object may read a generated header (nn_onnx.c, nn_tf*.c): make them first.
$(FUZZ_DIR)/obj/%.o: src/%.c | $(FUZZ_GEN)/onnx_subset.pb-c.h $(FUZZ_GEN)/tf_subset.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libvas.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/bin/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_DIR)/libvas.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< $(FUZZ_DIR)/libvas.a \
	    $(FUZZ_LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d)
