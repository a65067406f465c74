/* fault.h - test builds only: named points where a process kills itself with SIGKILL, so the
 * fault tests crash it at an exact step (between a blob's link and its row, mid-output...).
 * The environment variable VAS_FAULT picks one point: "<role>:<name>", role "server" (vas serve
 * and any other command) or "worker" (vas worker). Release builds compile the points away.
 * Owns: nothing but the role, set once before threads start. Threads: fault_point from any. */
#ifndef VAS_FAULT_H
#define VAS_FAULT_H

#ifdef VAS_TEST_BUILD
/* This process's role ("server" unless set): call before any thread starts. Borrows role (a
 * string literal). */
void fault_set_role(const char *role);
/* Raises SIGKILL on this process when VAS_FAULT is "<role>:<name>". */
void fault_point(const char *name);
#else
#define fault_set_role(role) ((void)0)
#define fault_point(name)    ((void)0)
#endif

#endif
