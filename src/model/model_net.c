/* model_net.c - see model_net.h. */
#include "model/model_net.h"

#include <stdlib.h>
#include <string.h>

void model_net_clear(model_net *m)
{
    if (!m)
        return;
    nn_graph_free(m->graph);
    for (int i = 0; i < m->n_bodyparts; i++)
        free(m->bodyparts[i]);
    memset(m, 0, sizeof(*m));
}
