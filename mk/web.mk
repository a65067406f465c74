# mk/web.mk - the web page (web/*), embedded into libvas.a at build time (scripts/embed), included
# by the Makefile. A change to any file in web/ rebuilds the generated C file and its object.

# The Makefile sets BUILD after including us; recursive calls pass it on the command line.
BUILD ?= build/release
WEB_FILES := $(sort $(wildcard web/*))

$(BUILD)/gen/web_assets.c: $(WEB_FILES) scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed $@ $(WEB_FILES)

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c src/http/web_assets.h
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libvas.a: $(BUILD)/gen/web_assets.o
