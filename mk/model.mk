# mk/model.mk - DeepLabCut model fixtures, made when the tests are built, included by the Makefile.
#
# No DeepLabCut weights can be downloaded, so the model readers' tests use models written in
# DeepLabCut's exact file layouts by Debian's PyTorch (torch.save .pt files, DLC 3 snapshots and
# exports) and protobuf (DLC 2 frozen graphs), with reference outputs from an independent PyTorch
# forward pass. Each tools/make-<kind>-fixtures.py writes $(BUILD)/fixtures/<kind>/; the tests find
# them through $VAS_FIXTURES (tests/run-tests sets it to $(BUILD)/fixtures).

# The Makefile sets BUILD after including us; recursive calls pass it on the command line.
BUILD ?= build/release
MODEL_FIXTURE_KINDS := $(patsubst tools/make-%-fixtures.py,%,$(wildcard tools/make-pt-fixtures.py \
    tools/make-dlc2-fixtures.py tools/make-dlc3-fixtures.py))
MODEL_FIXTURES := $(MODEL_FIXTURE_KINDS:%=$(BUILD)/fixtures/%/.done)

$(BUILD)/fixtures/%/.done: tools/make-%-fixtures.py
	@rm -rf $(dir $@) && mkdir -p $(dir $@)
	/usr/bin/python3 $< $(dir $@)
	@touch $@

test-build: $(MODEL_FIXTURES)
