/* job_msg.c - a failed job's sentence in the words of the person who sent its inputs: the blob
 * path of each input (<data>/files/ab/ab12...) becomes the name it was uploaded under, so that
 * the API and the web page say which file went wrong, not where vas keeps it. */
#include "queue/job.h"

#include <stdio.h>
#include <string.h>

/* Replaces every `from` in msg (VAS_ERR_MSG bytes) with `to`, cutting what no longer fits. */
static void replace_all(char *msg, const char *from, const char *to)
{
    char out[VAS_ERR_MSG];
    size_t k = 0, lf = strlen(from);
    const char *p = msg, *q;

    if (!lf || !strstr(msg, from))
        return;
    while ((q = strstr(p, from)) && k < sizeof(out) - 1) {
        int w = snprintf(out + k, sizeof(out) - k, "%.*s%s", (int)(q - p), p, to);
        k += w < 0 ? 0 : (size_t)w;
        p = q + lf;
    }
    if (k < sizeof(out) - 1)
        snprintf(out + k, sizeof(out) - k, "%s", p);
    snprintf(msg, VAS_ERR_MSG, "%s", out);
}

void job_name_inputs(job *j, int rc, vas_err *e)
{
    if (rc == VAS_OK || rc == VAS_ECANCELLED)
        return;
    for (int i = 0; i < j->a->n_inputs; i++) {
        char path[4096];
        store_file f;
        vas_err fe = {0};
        job_input_path(j, i, path, sizeof(path));
        if (store_file_find(j->st, j->a->inputs[i], &f, &fe) == VAS_OK && f.filename[0])
            replace_all(e->msg, path, f.filename);
    }
}
