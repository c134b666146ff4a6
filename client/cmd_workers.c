/*  cmd_workers - `mtclient workers`: the workers the broker knows  */
#include "cmd.h"
#include "render.h"

#include <stdio.h>

static int s_exec (client_t *client, int argc, char **argv);
static void s_print (json_t *workers);

const cmd_entry_t cmd_workers_entry = {
    .name = "workers",
    .usage = "",
    .summary = "list the workers: name, host, state, job, threads, last seen",
    .help = "  --json    print the list of worker maps\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    return cmd_show_exec (client, &cmd_workers_entry, argc, argv, &(cmd_show_t) {
                              .command = "WORKERS", .reply = "WORKERS", .field = "workers",
                              .type = JSON_ARRAY, .print = s_print });
}

static void
s_print (json_t *workers)
{
    if (json_array_size (workers) == 0)
        printf ("no workers; start one with: mtworker --broker tcp://BROKER-HOST:5556\n");
    else
        render_workers (stdout, workers);
}
