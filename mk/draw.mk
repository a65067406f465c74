# mk/draw.mk - build pieces of src/pose/pose_{draw,plot,view3d}.c, included by the Makefile before
# PKGS is used.
#
# Poses are drawn on video frames and plots are rendered with cairo (Debian 12: libcairo2-dev);
# text uses cairo's toy font API with DejaVu Sans (fonts-dejavu-core).
PKGS += cairo
