/*  cmd_resume - `mtclient resume JOB`: a failed or stopped job runs again from its last checkpoint  */
#include "cmd.h"
#include "mt/util.h"

#include <stdio.h>
#include <stdlib.h>

static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_resume_entry = {
    .name = "resume",
    .usage = "JOB",
    .summary = "continue a failed or stopped job from its last checkpoint, as its next attempt",
    .help = "  --json    print the job map after the change\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    char *cause = NULL;
    conn_t *conn = NULL;
    mt_msg_t *reply = NULL;
    int64_t id;
    int code = CMD_EXIT_OK;
    if (cmd_parse_job_command (client, &cmd_resume_entry, argc, argv, &id, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    mt_msg_t *request = mt_msg_new ("RESUME");
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    if (conn_call (conn, &request, "JOB", &reply, &cause)) {
        char *why = cause;
        cause = NULL;
        mt_fail (&cause, "cannot resume job %lld: %s", (long long) id, why);
        free (why);
        goto fail;
    }
    json_t *job = json_object_get (mt_msg_body (reply), "job");
    const char *state = json_string_value (json_object_get (job, "state"));
    if (client->json)
        cmd_print_json (job);
    else
        printf ("job %lld: %s (attempt %lld will resume from epoch %lld)\n", (long long) id,
                state ? state : "?",
                (long long) json_integer_value (json_object_get (job, "attempt")) + 1,
                (long long) json_integer_value (json_object_get (job, "checkpoint_epoch")));
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    mt_msg_destroy (&reply);
    free (cause);
    conn_destroy (&conn);
    return code;
}
