# mk/pose.mk - build pieces of src/pose, included by the Makefile before PKGS is used.
#
# dlc_h5.c writes DeepLabCut's HDF5 with libhdf5 (Debian 12: libhdf5-dev). Its pkg-config file
# is hdf5-serial.pc (hdf5.pc is an alternatives link that could point at an MPI build).
#
# Reading .h5 files is vas's own (h5_read*.c), not libhdf5; its deflate filter uses zlib
# (zlib1g-dev, which libhdf5-dev depends on).
PKGS += hdf5-serial zlib
