# vas - build, test, run, bench.
#   make            build build/release/vas
#   make run        install missing Debian packages, build, start `vas serve` on 127.0.0.1:5000
#   make test       unit + end-to-end tests on a test build (hidden test analyses compiled in)
#   make test SAN=1 the same under ASan+UBSan (build/san)
#   make test ISA=AVX2  the same with oneDNN held to AVX2 (ONEDNN_MAX_CPU_ISA), as on a CPU without
#                   AVX-512: tests needing more are skipped with the missing feature named
#   make bench      benchmarks; results in bench/results/
#   make lint       clang-format check, banned functions, file sizes

.DEFAULT_GOAL := all
PKGS      := libmicrohttpd jansson sqlite3 libcrypto yaml-0.1
TEST_PKGS := cmocka libcurl
-include mk/*.mk

SAN ?= 0
ifeq ($(SAN),1)
  VARIANT := san
else
  VARIANT := test
endif
# BUILD is set on the recursive call; the top level builds release/test/san through it.
BUILD ?= build/release
TESTBUILD ?= 0

CC      ?= cc
OPT     ?= -O2
CFLAGS  := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) -pthread -Isrc \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lm -pthread
ifeq ($(TESTBUILD),1)
  CFLAGS += -DVAS_TEST_BUILD
endif
ifeq ($(findstring build/san,$(BUILD)),build/san)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c) $(wildcard tests/e2e_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all release test test-build run bench bench-http bench-nn bench-video bench-queue bench-soak lint \
        clean print-libs
all release:
	@$(MAKE) --no-print-directory BUILD=build/release build/release/vas

$(BUILD)/vas: $(BUILD)/obj/main.o $(BUILD)/libvas.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libvas.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libvas.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(shell pkg-config --cflags $(TEST_PKGS)) $(LDFLAGS) -o $@ $< \
	    $(BUILD)/libvas.a $(LDLIBS) $(shell pkg-config --libs $(TEST_PKGS))

test-build: $(BUILD)/vas $(TEST_BIN)

test:
	@$(MAKE) --no-print-directory BUILD=build/$(VARIANT) TESTBUILD=1 OPT=$(if $(filter san,$(VARIANT)),-O1,-O2) test-build
	@$(if $(ISA),ONEDNN_MAX_CPU_ISA=$(ISA) )tests/run-tests build/$(VARIANT)

run: 
	@scripts/install-deps --run
	@$(MAKE) --no-print-directory BUILD=build/release build/release/vas
	./build/release/vas serve $(if $(wildcard config.yaml),--config config.yaml,)

# make bench runs every benchmark; make bench-http (or -nn, -video) runs one. make bench-queue:
# jobs through Redis vs the embedded queue (starts redis-server; not part of make bench).
bench: all
	@bench/http
	@bench/nn
	@bench/geom
	@if [ -x bench/video ]; then bench/video; fi

bench-http bench-nn bench-video bench-queue: all
	@bench/$(@:bench-%=%)

# make bench-soak: 10 minutes of mixed load with a restart, then the consistency checks
# (SOAK_S=N for another duration); not part of make bench.
bench-soak: all
	@bench/soak

lint:
	@scripts/lint

# The libraries a program linking libvas.a needs (bench/nn's runner).
print-libs:
	@echo $(LDLIBS)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d
