/* nn_cli.h - `vas nn-run`: load an ONNX model, print its summary, run it on random input or a
 * raw float32 file, report ms per frame, and optionally write each output as raw float32.
 * Not: argument parsing of other commands (main.c). Threads: the caller's only. */
#ifndef VAS_NN_CLI_H
#define VAS_NN_CLI_H

#include "core/err.h"

struct nn_graph;

/* argv[0] is the command name ("nn-run"); returns the process exit status (0 ok, 1 failure,
 * 2 usage). Prints to stdout, errors to stderr. */
int nn_cli_main(int argc, char **argv);

/* The same with the model read by load (the caller's: main.c passes one that also reads
 * DeepLabCut's formats, which nn/ does not know). */
typedef int (*nn_cli_loader)(const char *path, struct nn_graph **out, vas_err *e);
int nn_cli_main_with(int argc, char **argv, nn_cli_loader load);

#endif
