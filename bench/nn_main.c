/* nn_main.c - stand-alone `nn-run` for bench/nn: the same nn_cli_main that `vas nn-run` calls,
 * linked against libvas.a, so the benchmark does not depend on main.c's wiring. */
#include "nn/nn_cli.h"

int main(int argc, char **argv)
{
    return nn_cli_main(argc, argv);
}
