/*  cmd_delete - `mtclient delete JOB`: an ended job, its history, and its blobs no other job names  */
#include "cmd.h"
#include "mt/util.h"

#include <stdio.h>
#include <stdlib.h>

static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_delete_entry = {
    .name = "delete",
    .usage = "JOB",
    .summary = "delete an ended job: its row, history, attempts, and blobs no other job names",
    .help = "  --json    print {\"job\": ID, \"blobs\": N}: N blobs no other job names are removed\n",
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
    if (cmd_parse_job_command (client, &cmd_delete_entry, argc, argv, &id, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    mt_msg_t *request = mt_msg_new ("DELETE");
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    if (conn_call (conn, &request, "DELETED", &reply, &cause)) {
        char *why = cause;
        cause = NULL;
        mt_fail (&cause, "cannot delete job %lld: %s", (long long) id, why);
        free (why);
        goto fail;
    }
    json_t *body = mt_msg_body (reply);
    json_t *out = json_pack ("{s:I, s:O}", "job", (json_int_t) id, "blobs",
                             json_object_get (body, "blobs"));
    if (client->json && out)
        cmd_print_json (out);
    else
        printf ("job %lld: deleted (%lld blobs no other job names will be removed)\n",
                (long long) id, (long long) json_integer_value (json_object_get (body, "blobs")));
    json_decref (out);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    mt_msg_destroy (&reply);
    free (cause);
    conn_destroy (&conn);
    return code;
}
