# mk/webtest.mk - the web page's browser tests (tests/web/), included by the Makefile.
#
# make test runs every executable in $(BUILD)/tests/ (tests/run-tests); the browser tests join
# them as $(BUILD)/tests/web_ui, a copy of the wrapper tests/web/web_ui.sh, which runs
# tests/web/web_ui.mjs (Debian's chromium + playwright-core from tests/web/node_modules, both put
# there by scripts/install-deps) or says why it skips.

# The Makefile sets BUILD after including us; recursive calls pass it on the command line.
BUILD ?= build/release

$(BUILD)/tests/web_ui: tests/web/web_ui.sh
	@mkdir -p $(dir $@)
	cp $< $@
	chmod +x $@

test-build: $(BUILD)/tests/web_ui
