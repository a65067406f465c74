/* fault.c - test builds only: the fault points of fault.h. */
#ifdef VAS_TEST_BUILD
#include "core/fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fault_role = "server"; /* set before threads start, then read-only */

void fault_set_role(const char *role)
{
    fault_role = role;
}

void fault_point(const char *name)
{
    /* Nobody calls setenv once threads run, so reading the environment here is safe. */
    const char *want = getenv("VAS_FAULT"); /* NOLINT(concurrency-mt-unsafe) */
    size_t n = strlen(fault_role);

    if (!want || strncmp(want, fault_role, n) != 0 || want[n] != ':' ||
        strcmp(want + n + 1, name) != 0)
        return;
    dprintf(2, "fault: %s:%s, killing pid %d\n", fault_role, name, (int)getpid());
    kill(getpid(), SIGKILL);
}
#else
typedef int fault_c_is_empty_outside_test_builds; /* ISO C wants a declaration */
#endif
