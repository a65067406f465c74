/* model_dlc.c - see model_dlc.h. */
#include "model/model_dlc.h"

#include "core/ydoc.h"
#include "model/model_net.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Scorer names
 * ------------------------------------------------------------------------------------------- */
char *model_scorer_dlc3(const char *net_type, const char *taskdate, int shuffle, const char *uid)
{
    char net[128], *p = net, *out;
    int first = 1;
    size_t n;

    for (const char *s = net_type; *s && p < net + sizeof(net) - 1; s++) {
        if (*s == '_') {
            first = 1;
            continue;
        }
        *p++ = first ? (char)toupper((unsigned char)*s) : (char)tolower((unsigned char)*s);
        first = 0;
    }
    *p = '\0';
    n = strlen(net) + strlen(taskdate) + strlen(uid) + 64;
    if ((out = malloc(n)))
        snprintf(out, n, "DLC_%s_%sshuffle%d_snapshot_%s", net, taskdate, shuffle, uid);
    return out;
}

char *model_scorer_dlc2(const char *net_type, const char *taskdate, int shuffle, const char *uid)
{
    char net[128], *p = net, *out;
    const char *last = strrchr(net_type, '_'), *dash = strchr(net_type, '-');
    size_t n;

    if (strstr(net_type, "resnet")) { /* resnet_50 -> resnet50 */
        for (const char *s = net_type; *s && p < net + sizeof(net) - 1; s++)
            if (*s != '_')
                *p++ = *s;
        *p = '\0';
    } else if (strstr(net_type, "mobilenet") && last) { /* int(float("0.35") * 100) */
        snprintf(net, sizeof(net), "mobnet_%d", (int)(strtod(last + 1, NULL) * 100));
    } else if (strstr(net_type, "efficientnet") && dash) {
        snprintf(net, sizeof(net), "effnet_%.100s", dash + 1);
    } else {
        snprintf(net, sizeof(net), "%.100s", net_type);
    }
    n = strlen(net) + strlen(taskdate) + strlen(uid) + 64;
    if ((out = malloc(n)))
        snprintf(out, n, "DLC_%s_%sshuffle%d_%s", net, taskdate, shuffle, uid);
    return out;
}

/* TEMPORARY while the readers land */
int model_dlc_load(pose_model *m, const model_loc *loc, int check, vas_err *e)
{
    (void)loc;
    (void)check;
    return err_set(e, VAS_EUNSUPPORTED, "model '%s': DeepLabCut formats are not read yet", m->name);
}

int model_dlc_graph(const pose_model *m, nn_graph **out, vas_err *e)
{
    (void)out;
    return err_set(e, VAS_EUNSUPPORTED, "model '%s': DeepLabCut formats are not read yet", m->name);
}
