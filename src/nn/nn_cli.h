/* nn_cli.h - `vas nn-run`: load an ONNX model, print its summary, run it on random input or a
 * raw float32 file, report ms per frame, and optionally write each output as raw float32.
 * Not: argument parsing of other commands (main.c). Threads: the caller's only. */
#ifndef VAS_NN_CLI_H
#define VAS_NN_CLI_H

/* argv[0] is the command name ("nn-run"); returns the process exit status (0 ok, 1 failure,
 * 2 usage). Prints to stdout, errors to stderr. */
int nn_cli_main(int argc, char **argv);

#endif
