/*  cmd_status - `mtclient status JOB`: a job's state, progress, metrics, attempts and loss curve  */
#include "cmd.h"
#include "mt/util.h"
#include "render.h"

#include <stdlib.h>

static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_status_entry = {
    .name = "status",
    .usage = "JOB",
    .summary = "show a job: state, attempts, times, progress, metrics or error, loss curve",
    .help = "  --json    print the job map exactly as the broker sent it\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    char *cause = NULL;
    conn_t *conn = NULL;
    json_t *job = NULL;
    int64_t id;
    int code = CMD_EXIT_OK;
    if (cmd_parse_job_command (client, &cmd_status_entry, argc, argv, &id, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    job = cmd_job_status (conn, id, &cause);
    if (!job)
        goto fail;
    if (client->json)
        cmd_print_json (job);
    else
        render_job (stdout, job, client->utf8);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    json_decref (job);
    free (cause);
    conn_destroy (&conn);
    return code;
}
