/*  mtclient - the command-line tool: submit, watch, stop, list and fetch training jobs  */
#include "cmd.h"

int
main (int argc, char **argv)
{
    return cmd_main (argc, argv);
}
