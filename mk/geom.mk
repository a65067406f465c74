# mk/geom.mk - build pieces of src/geom, included by the Makefile.
#
# make bench-geom runs bench/geom (points triangulated per second, vas against cv2). The
# Makefile's `bench` target lists its benchmarks by name, so this one is run on its own.
.PHONY: bench-geom
bench-geom:
	@bench/geom
