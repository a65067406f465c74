/* analyze_cli.h - `vas analyze`: the analyses on local files, without a server (like
 * deeplabcut.analyze_videos): outputs are written beside each input under DeepLabCut's names.
 * Not: option parsing of other commands (main.c). Threads: the caller's. */
#ifndef VAS_ANALYZE_CLI_H
#define VAS_ANALYZE_CLI_H

#include "core/config.h"

/* argv[0] is "analyze"; cfg is the loaded configuration (models). Returns the exit status
 * (0 ok, 1 an analysis failed, 2 usage). */
int analyze_cli_main(const config *cfg, int argc, char **argv);

#endif
