# mk/geom.mk - build pieces of src/geom, included by the Makefile.
#
# make bench-geom runs bench/geom (points triangulated per second, vas against cv2). The
# Makefile's `bench` target runs it too.
.PHONY: bench-geom
bench-geom: all
	@bench/geom
