/* pose_fmt.h - doubles as Python's repr writes them: the shortest text that reads back as the
 * same double ("0.3333333333333333", "1e-07", "5.0", "1.5e+20"), which is what pandas' to_csv
 * writes for float64 columns and what vas's JSON output uses.
 * Not: the CSV/JSON framing (dlc_csv.h, pose_json.h). Threads: any; pure functions. */
#ifndef VAS_POSE_FMT_H
#define VAS_POSE_FMT_H

#include <stddef.h>

/* Longest result plus NUL: "-2.2250738585072014e-308" is 24 characters. */
#define POSE_FMT_LEN 32

/* Writes v into out (POSE_FMT_LEN bytes) as repr(v): "nan", "inf", "-inf", "0.0", "-0.0", else
 * the shortest round-tripping digits, positional when 1e-4 <= |v| < 1e16 (with ".0" when
 * integral), else d[.ddd]e±XX. Returns the length written. */
int pose_fmt_double(double v, char out[POSE_FMT_LEN]);

#endif
