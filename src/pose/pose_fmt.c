/* pose_fmt.c - shortest round-trip formatting of doubles, as Python's float repr.
 *
 * DESIGN: glibc's printf rounds correctly, so "%.*e" at precisions 0..16 gives, for each length,
 * the decimal nearest to v; the first that strtod reads back as v is the shortest. One case
 * needs more: at a power of two the gap below v is half the gap above, so the nearest decimal
 * may sit just below v outside its (narrow) rounding interval while the next decimal up, a bit
 * farther away, is inside the wide one. Python (David Gay's dtoa, mode 0) would print that one,
 * so when the nearest fails we also try one unit up in the last digit. 17 digits always
 * round-trip. The digits are then laid out by Python's rules (Objects/floatobject.c float_repr,
 * Python/pystrtod.c format_float_short with 'r'): positional when -4 < decpt <= 16. */
#include "pose/pose_fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v (finite, > 0) as m x 10^(e10 - p) with m of p + 1 digits, from "%.*e". */
static void sci_parse(const char *buf, uint64_t *m, int *e10)
{
    uint64_t acc = 0;
    const char *s = buf;

    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            acc = acc * 10 + (uint64_t)(*s - '0');
    *m = acc;
    *e10 = (int)strtol(s + 1, NULL, 10);
}

static uint64_t pow10u(int n)
{
    uint64_t r = 1;

    while (n-- > 0)
        r *= 10;
    return r;
}

/* 1 if m x 10^(e10 - p) reads back as v. */
static int round_trips(uint64_t m, int e10, int p, double v)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)m, e10 - p);
    return strtod(buf, NULL) == v;
}

static int is_pow2(double v)
{
    int ex;

    return frexp(v, &ex) == 0.5;
}

/* Shortest digits of v (finite, > 0): into dig (NUL-terminated, no trailing zeros); returns
 * decpt, where v = 0.dig x 10^decpt. */
static int shortest_digits(double v, char dig[24])
{
    char buf[48];
    uint64_t m = 0;
    int e10 = 0, p;

    for (p = 0; p <= 16; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p, v);
        sci_parse(buf, &m, &e10);
        if (p == 16 || strtod(buf, NULL) == v)
            break;
        if (is_pow2(v) && round_trips(m + 1, e10, p, v)) {
            m++;
            if (m == pow10u(p + 1)) { /* 9.99 + 1 unit = 10.0: one digit fewer, exponent up */
                m /= 10;
                e10++;
            }
            break;
        }
    }
    snprintf(dig, 24, "%llu", (unsigned long long)m);
    for (p = (int)strlen(dig); p > 1 && dig[p - 1] == '0'; p--)
        dig[p - 1] = '\0';
    return e10 + 1;
}

/* "d[.ddd]e±XX". */
static int layout_exp(const char *dig, int decpt, char *o, size_t n)
{
    int e = decpt - 1;

    if (dig[1])
        return snprintf(o, n, "%c.%se%c%02d", dig[0], dig + 1, e < 0 ? '-' : '+', abs(e));
    return snprintf(o, n, "%ce%c%02d", dig[0], e < 0 ? '-' : '+', abs(e));
}

/* Positional, with ".0" when integral. */
static int layout_fixed(const char *dig, int decpt, char *o, size_t n)
{
    int nd = (int)strlen(dig);

    if (decpt <= 0)
        return snprintf(o, n, "0.%.*s%s", -decpt, "0000", dig);
    if (decpt >= nd)
        return snprintf(o, n, "%s%.*s.0", dig, decpt - nd, "0000000000000000");
    return snprintf(o, n, "%.*s.%s", decpt, dig, dig + decpt);
}

int pose_fmt_double(double v, char out[POSE_FMT_LEN])
{
    char dig[24];
    int decpt, neg = signbit(v) != 0, k;

    if (isnan(v))
        return snprintf(out, POSE_FMT_LEN, "nan");
    if (isinf(v))
        return snprintf(out, POSE_FMT_LEN, "%sinf", neg ? "-" : "");
    if (v == 0)
        return snprintf(out, POSE_FMT_LEN, "%s0.0", neg ? "-" : "");
    decpt = shortest_digits(fabs(v), dig);
    k = neg ? 1 : 0;
    out[0] = '-';
    if (decpt > -4 && decpt <= 16)
        return k + layout_fixed(dig, decpt, out + k, POSE_FMT_LEN - (size_t)k);
    return k + layout_exp(dig, decpt, out + k, POSE_FMT_LEN - (size_t)k);
}
