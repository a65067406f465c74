# mk/tf.mk - TensorFlow GraphDef reading in src/nn (nn_tf*.c), included by the Makefile.
#
# tf_subset.proto is compiled with protoc-c into $(BUILD)/gen/ (as mk/nn.mk does for ONNX), and
# its object joins libvas.a as an extra prerequisite. protobuf-c's pkg-config comes from nn.mk.
# protoc-c initialises a oneof with {0}, which -Wmissing-braces flags: that object alone skips it.

BUILD ?= build/release
TF_GEN := $(BUILD)/gen

$(TF_GEN)/tf_subset.pb-c.c $(TF_GEN)/tf_subset.pb-c.h &: src/nn/tf_subset.proto
	@mkdir -p $(TF_GEN)
	protoc-c --c_out=$(TF_GEN) -Isrc/nn src/nn/tf_subset.proto

$(TF_GEN)/tf_subset.pb-c.o: $(TF_GEN)/tf_subset.pb-c.c
	$(CC) $(CFLAGS) -Wno-missing-braces -I$(TF_GEN) -c -o $@ $<

$(BUILD)/libvas.a: $(TF_GEN)/tf_subset.pb-c.o

# Sources that read the generated header (nn.mk already adds -I$(TF_GEN) to every nn object).
$(BUILD)/obj/nn/nn_tf.o $(BUILD)/obj/nn/nn_tf_ops.o $(BUILD)/obj/nn/nn_tf_conv.o \
    $(BUILD)/obj/nn/nn_tf_eval.o: $(TF_GEN)/tf_subset.pb-c.h
