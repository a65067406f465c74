/* nn_check.h - comparing a session's outputs with a fixture's expected floats, shared by
 * test_nn.c and test_nn_int8.c (header-only, cmocka assertions). */
#ifndef VAS_TESTS_NN_CHECK_H
#define VAS_TESTS_NN_CHECK_H

#include <math.h>

#include "nn/nn.h"

/* max |output - want| / max(1, max |want|) over every output of g (in graph order, flattened
 * and concatenated), which must hold exactly n_want floats in all. */
static inline double nn_check_rel_err(const nn_session *s, const nn_graph *g, const float *want,
                                      long n_want)
{
    double err = 0, scale = 1;
    vas_err e = {0};
    long k = 0;

    for (long i = 0; i < n_want; i++)
        scale = fmax(scale, fabs((double)want[i]));
    for (int o = 0; o < nn_graph_n_outputs(g); o++) {
        const float *y;
        nn_tensor_info info;
        long cnt = 1;
        assert_int_equal(nn_session_output(s, o, &y, &info, &e), VAS_OK);
        for (int d = 0; d < info.ndims; d++)
            cnt *= (long)info.dims[d];
        assert_true(k + cnt <= n_want);
        for (long i = 0; i < cnt; i++, k++)
            err = fmax(err, fabs((double)y[i] - (double)want[k]));
    }
    assert_int_equal(k, n_want);
    return err / scale;
}

#endif
