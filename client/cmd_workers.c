/*  cmd_workers - `mtclient workers`: the workers the broker knows  */
#include "cmd.h"
#include "mt/util.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>

static int s_exec (client_t *client, int argc, char **argv);

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
    char *operands [1];
    int n = 0;
    char *cause = NULL;
    conn_t *conn = NULL;
    json_t *workers = NULL;
    int code = CMD_EXIT_OK;
    if (cmd_parse_plain (client, &cmd_workers_entry, argc, argv, operands, 0, &n, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    mt_msg_t *request = mt_msg_new ("WORKERS");
    workers = cmd_request (conn, &request, "WORKERS", "workers", JSON_ARRAY, &cause);
    if (!workers)
        goto fail;
    if (client->json)
        cmd_print_json (workers);
    else
    if (json_array_size (workers) == 0)
        printf ("no workers; start one with: mtworker --broker tcp://BROKER-HOST:5556\n");
    else
        render_workers (stdout, workers);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    json_decref (workers);
    free (cause);
    conn_destroy (&conn);
    return code;
}
