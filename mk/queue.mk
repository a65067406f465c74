# mk/queue.mk - build pieces of src/queue's Redis backend (hiredis to Redis, libcurl from a remote
# worker to the server's HTTP API), included by the Makefile before PKGS is used. Debian
# packages: scripts/deps-queue.txt.

PKGS += hiredis libcurl
