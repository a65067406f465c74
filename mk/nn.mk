# mk/nn.mk - build pieces of src/nn (ONNX on oneDNN), included by the Makefile before PKGS is used.
#
# protobuf-c has a .pc file; oneDNN (Debian's libdnnl-dev) has none, so mk/dnnl.pc describes it
# and pkg-config reads it by path. onnx_subset.proto is compiled with protoc-c into
# $(BUILD)/gen/, and that object joins libvas.a as an extra prerequisite (its recipe archives $^).

PKGS += libprotobuf-c $(CURDIR)/mk/dnnl.pc

# The Makefile sets BUILD after including us; recursive calls pass it on the command line.
BUILD ?= build/release
NN_GEN := $(BUILD)/gen

$(NN_GEN)/onnx_subset.pb-c.c $(NN_GEN)/onnx_subset.pb-c.h &: src/nn/onnx_subset.proto
	@mkdir -p $(NN_GEN)
	protoc-c --c_out=$(NN_GEN) -Isrc/nn src/nn/onnx_subset.proto

$(NN_GEN)/onnx_subset.pb-c.o: $(NN_GEN)/onnx_subset.pb-c.c
	$(CC) $(CFLAGS) -I$(NN_GEN) -c -o $@ $<

$(BUILD)/libvas.a: $(NN_GEN)/onnx_subset.pb-c.o

# Sources and tests that read the generated header.
$(BUILD)/obj/nn/nn_onnx.o: $(NN_GEN)/onnx_subset.pb-c.h
$(BUILD)/obj/nn/%.o: CFLAGS += -I$(NN_GEN)
$(BUILD)/tests/test_nn: CFLAGS += -I$(NN_GEN)

# nn_arena.c's own steps (GroupNormalization), nn_col2im.c's, nn_dwconv.c's, nn_input.c's and nn_wino.c's split their loops
# over the OpenMP threads oneDNN already runs (libgomp, linked through oneDNN).
$(BUILD)/obj/nn/nn_arena.o: CFLAGS += -fopenmp
$(BUILD)/obj/nn/nn_col2im.o: CFLAGS += -fopenmp
$(BUILD)/obj/nn/nn_input.o: CFLAGS += -fopenmp
$(BUILD)/obj/nn/nn_dwconv.o: CFLAGS += -fopenmp
$(BUILD)/obj/nn/nn_wino.o: CFLAGS += -fopenmp
# media_pipe.c's inline decoding converts frames on OpenMP tasks, on those same threads.
$(BUILD)/obj/media/media_pipe.o: CFLAGS += -fopenmp
