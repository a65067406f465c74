/* nn_wino_isa.h - the vector loops of nn_wino.c, written once and compiled there twice: for AVX2
 * (8 floats a vector) and AVX-512 (16). Not a header of its own: nn_wino.c includes it after
 * defining the names below, which it undefines at its end.
 *   WG_FN(name)   the function's name for this instruction set (name_avx2, name_avx512)
 *   WG_TARGET     its target attribute;  V, VL: the vector type and its floats
 *   VMASK, MASK_FIRST(n), MLOAD(p, m), MSTORE(p, m, v): a mask of the first n lanes, and loads
 *                 and stores of those lanes only
 *   LOADU, STOREU, SET1, ZERO, ADD, SUB, MUL, FMA(a, b, c) = a * b + c, MAX, MIN, BCAST(p),
 *   LEAKY(v, a) = v < 0 ? v * a : v, ZERO_OUT(v, m): lanes outside m zeroed
 * A panel of output channels is PW = 2 VL wide: the product kernel's two vectors a row. */

#define PW (2 * VL)

/* Tile tl's patch of the input block cb (VL channels), transformed, into v[xi * vs]. */
WG_TARGET static void WG_FN(in_tile)(const wg_run *r, const wg_tile *tl, int64_t cb, float *v,
                                     int64_t vs)
{
    const wg_w *w = r->w;
    const V F2 = SET1(2), F4 = SET1(4), F5 = SET1(5);
    const float *base = r->src + tl->n * r->in_img + cb * r->in_blk;
    int64_t oy = tl->oy - w->pt, ox = tl->ox - w->pl, d = w->d;
    int full = oy >= 0 && ox >= 0 && oy + 5 * d < r->H && ox + 5 * d < r->W;
    int whole = cb * VL + VL <= w->C; /* else the layout's padding channels: zeros */
    VMASK m = MASK_FIRST(whole ? VL : w->C - cb * VL);
    V p[36], q[36];

    for (int i = 0; i < 6; i++) {
        int64_t y = oy + d * i;
        for (int j = 0; j < 6; j++) {
            int64_t xx = ox + d * j;
            const float *at = base + (y * r->W + xx) * r->in_px;
            if (!full && (y < 0 || y >= r->H || xx < 0 || xx >= r->W))
                p[i * 6 + j] = ZERO();
            else
                p[i * 6 + j] = whole ? LOADU(at) : MLOAD(at, m);
        }
    }
    for (int j = 0; j < 6; j++) /* columns: q = B' p */
        IN_1D(V, (p + j), 6, (q + j), 6);
    for (int i = 0; i < 6; i++) { /* rows: V = q B */
        V o[6];
        IN_1D(V, (q + i * 6), 1, o, 1);
        for (int j = 0; j < 6; j++)
            STOREU(v + (i * 6 + j) * vs, o[j]);
    }
}

/* M[6 x PW] = V[6 x C] x U[C x PW]; v row stride vs, m row stride ms. */
WG_TARGET static void WG_FN(gemm)(const float *v, int64_t vs, const float *u, int64_t C, float *m,
                                  int64_t ms)
{
    V a[6][2]; /* 12 accumulators, in registers: the loops over i are unrolled */

#pragma GCC unroll 6
    for (int i = 0; i < 6; i++)
        a[i][0] = a[i][1] = ZERO();
    for (int64_t c = 0; c < C; c++) {
        V u0 = LOADU(u + c * PW), u1 = LOADU(u + c * PW + VL);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            V b = BCAST(v + i * vs + c);
            a[i][0] = FMA(b, u0, a[i][0]);
            a[i][1] = FMA(b, u1, a[i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        STOREU(m + i * ms, a[i][0]);
        STOREU(m + i * ms + VL, a[i][1]);
    }
}

/* Tile tl's outputs of block kb (VL channels) from m[xi * ms]: transformed, plus the bias, the
 * residual and the activations, stored where they fall inside the output. In nChw8c the
 * layout's padding channels are written as zeros; in NHWC a last block of fewer than VL
 * channels touches those only. */
WG_TARGET static void WG_FN(out_tile)(const wg_run *r, const wg_tile *tl, int64_t kb,
                                      const float *m, int64_t ms)
{
    const wg_w *w = r->w;
    const V F2 = SET1(2), F4 = SET1(4), F8 = SET1(8), bias = LOADU(w->bias + kb * VL);
    float *base = r->dst + tl->n * r->out_img + kb * r->out_blk;
    int64_t oy = tl->oy, ox = tl->ox, d = w->d;
    int part = kb * VL + VL > w->K, masked = part && r->nhwc;
    VMASK km = MASK_FIRST(part ? w->K - kb * VL : VL);
    V p[36], q[24];

    for (int xi = 0; xi < 36; xi++)
        p[xi] = LOADU(m + xi * ms);
    for (int j = 0; j < 6; j++) /* columns: q = A' p, 4 x 6 */
        OUT_1D(V, (p + j), 6, (q + j), 6);
    for (int i = 0; i < 4 && oy + d * i < r->OH; i++) {
        V o[4];
        OUT_1D(V, (q + i * 6), 1, o, 1);
        for (int j = 0; j < 4 && ox + d * j < r->OW; j++) {
            float *at = base + ((oy + d * i) * r->OW + ox + d * j) * r->out_px;
            V val = ADD(o[j], bias);
            if (w->sum)
                val = ADD(val, masked ? MLOAD(at, km) : LOADU(at));
            for (int k = 0; k < w->n_act; k++) {
                V a = SET1(w->act[k].a), b = SET1(w->act[k].b);
                if (w->act[k].kind == WG_RELU)
                    val = w->act[k].a == 0.0f ? MAX(val, ZERO()) : LEAKY(val, a);
                else if (w->act[k].kind == WG_CLIP)
                    val = MIN(MAX(val, a), b);
                else
                    val = FMA(val, a, b);
            }
            if (masked)
                MSTORE(at, km, val);
            else
                STOREU(at, part ? ZERO_OUT(val, km) : val);
        }
    }
}

/* G g G' of the PW kernels of a panel for every input channel, in float: g (Cp x 9 x PW) into u
 * (36 planes of Cp x PW, U_PLANE apart). */
WG_TARGET static void WG_FN(panel_transform)(const float *g, int64_t Cp, float *u)
{
    const V q4 = SET1(0.25f), q6 = SET1(1.0f / 6), m6 = SET1(-1.0f / 6), h = SET1(0.5f);

    for (int64_t c = 0; c < Cp; c++)
        for (int half = 0; half < 2; half++) {
            const float *gc = g + c * 9 * PW + half * VL;
            V t[18], o[6];
            for (int j = 0; j < 3; j++) { /* columns: t = G g, 6 x 3 */
                V g0 = LOADU(gc + j * PW), g1 = LOADU(gc + (3 + j) * PW);
                V g2 = LOADU(gc + (6 + j) * PW), s0 = ADD(g0, g2);
                V a = FMA(g0, q4, g2), b = MUL(g1, h);
                t[j] = MUL(g0, q4);
                t[3 + j] = MUL(ADD(s0, g1), m6);
                t[6 + j] = MUL(SUB(s0, g1), m6);
                t[9 + j] = MUL(ADD(a, b), q6);
                t[12 + j] = MUL(SUB(a, b), q6);
                t[15 + j] = g2;
            }
            for (int i = 0; i < 6; i++) { /* rows: u = t G' */
                V g0 = t[i * 3], g1 = t[i * 3 + 1], g2 = t[i * 3 + 2];
                V s0 = ADD(g0, g2), a = FMA(g0, q4, g2), b = MUL(g1, h);
                o[0] = MUL(g0, q4);
                o[1] = MUL(ADD(s0, g1), m6);
                o[2] = MUL(SUB(s0, g1), m6);
                o[3] = MUL(ADD(a, b), q6);
                o[4] = MUL(SUB(a, b), q6);
                o[5] = g2;
                for (int j = 0; j < 6; j++)
                    STOREU(u + (i * 6 + j) * U_PLANE(Cp, PW) + c * PW + half * VL, o[j]);
            }
        }
}

/* The calls below by plain names (clang-format reads WG_FN(f)(...) as two statements). */
#define IN_TILE         WG_FN(in_tile)
#define GEMM            WG_FN(gemm)
#define OUT_TILE        WG_FN(out_tile)
#define PANEL_TRANSFORM WG_FN(panel_transform)

/* One piece of work: tiles [t0, t0 + nt) and output panels [k0, k1), with the thread's scratch
 * v (36 x WG_TB x Cp), m (36 x WG_TB x (k1 - k0) PW) and ubuf (a panel's transformed weights). */
WG_TARGET static void WG_FN(run_piece)(const wg_run *r, int64_t t0, int64_t nt, int64_t k0,
                                       int64_t k1, float *v, float *m, float *ubuf)
{
    const wg_w *w = r->w;
    int64_t Cp = w->Cp, kw = (k1 - k0) * PW;
    int64_t vs = WG_TB * Cp + WG_SKEW, ms = WG_TB * kw + WG_SKEW;
    wg_tile tl[WG_TB];

    for (int64_t i = 0; i < nt; i++) {
        tl[i] = tile_at(r, t0 + i);
        for (int64_t cb = 0; cb < Cp / VL; cb++)
            IN_TILE(r, &tl[i], cb, v + i * Cp + cb * VL, vs);
    }
    for (int64_t i = nt; i % 6; i++) /* the kernel's last rows: zeros, their results unused */
        for (int xi = 0; xi < 36; xi++)
            memset(v + xi * vs + i * Cp, 0, (size_t)Cp * sizeof(float));
    if (!w->u) {
        for (int64_t k = k0; k < k1; k++) {
            PANEL_TRANSFORM(w->g + k * Cp * 9 * PW, Cp, ubuf);
            for (int xi = 0; xi < 36; xi++)
                for (int64_t i = 0; i < nt; i += 6)
                    GEMM(v + xi * vs + i * Cp, Cp, ubuf + xi * U_PLANE(Cp, PW), Cp,
                         m + xi * ms + i * kw + (k - k0) * PW, kw);
        }
    } else {
        for (int xi = 0; xi < 36; xi++)
            for (int64_t k = k0; k < k1; k++) {
                const float *u = w->u + k * U_FLOATS(Cp, PW) + xi * U_PLANE(Cp, PW);
                for (int64_t i = 0; i < nt; i += 6)
                    GEMM(v + xi * vs + i * Cp, Cp, u, Cp, m + xi * ms + i * kw + (k - k0) * PW, kw);
            }
    }
    for (int64_t i = 0; i < nt; i++)
        for (int64_t kb = k0 * 2; kb < k1 * 2 && kb * VL < w->K; kb++)
            OUT_TILE(r, &tl[i], kb, m + i * kw + (kb - k0 * 2) * VL, ms);
}

#undef IN_TILE
#undef GEMM
#undef OUT_TILE
#undef PANEL_TRANSFORM
#undef PW
#undef WG_FN
#undef WG_TARGET
#undef V
#undef VL
#undef VMASK
#undef MASK_FIRST
#undef MLOAD
#undef MSTORE
#undef LOADU
#undef STOREU
#undef SET1
#undef ZERO
#undef ADD
#undef SUB
#undef MUL
#undef FMA
#undef MAX
#undef MIN
#undef BCAST
#undef LEAKY
#undef ZERO_OUT
