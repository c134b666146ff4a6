/*  cmd_delete - `mtclient delete JOB|--sweep S`: ended jobs, their history, and blobs no other job names  */
#include "cmd.h"
#include "mt/util.h"

#include <stdio.h>
#include <stdlib.h>

enum { S_OPT_SWEEP = 2000 };     // past getopt's 1 (an operand) and CMD_OPT_*

static int s_exec (client_t *client, int argc, char **argv);
static int s_option (int opt, const char *arg, void *arg_p, char **cause);
static mt_msg_t *s_ask (conn_t *conn, const char *command, const char *key, int64_t id,
                        const char *reply_command, char **cause);
static int s_delete_job (client_t *client, conn_t *conn, int64_t id, char **cause);
static int s_delete_sweep (client_t *client, conn_t *conn, int64_t id, char **cause);

const cmd_entry_t cmd_delete_entry = {
    .name = "delete",
    .usage = "JOB | --sweep S",
    .summary = "delete an ended job (or every trial of an ended sweep, and the sweep): rows,"
               " history, attempts, and blobs no other job names",
    .help = "  --sweep S  delete every trial of sweep S and the sweep itself; refused while a\n"
            "             trial is queued or running (mtclient sweep stop S first)\n"
            "  --json     print {\"job\": ID, \"blobs\": N}, or {\"sweep\": S, \"jobs\": J,\n"
            "             \"blobs\": N}: N blobs no other job names are removed\n",
    .exec = s_exec,
};

static int
s_option (int opt, const char *arg, void *arg_p, char **cause)
{
    if (opt != S_OPT_SWEEP)
        return 0;
    char *why = NULL;
    if (cmd_parse_job (arg, (int64_t *) arg_p, &why) == 0)
        return 0;
    free (why);
    return mt_fail (cause, "--sweep: '%s' is not a sweep id (a positive whole number, as"
                    " `mtclient sweep list` shows)", arg);
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    char *cause = NULL;
    conn_t *conn = NULL;
    char *operands [1];
    int n = 0;
    int64_t sweep = 0, id = 0;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_delete_entry, argc, argv, "", (struct option []) {
                       { "sweep", required_argument, NULL, S_OPT_SWEEP },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &sweep, operands, 1, &n, &cause))
        goto fail;
    if ((n == 1) == (sweep > 0)) {
        client->usage_error = true;
        mt_fail (&cause, "delete: give a job id or --sweep S, one of them (usage: mtclient"
                 " delete JOB | --sweep S)");
        goto fail;
    }
    if (n == 1 && cmd_parse_job (operands [0], &id, &cause)) {
        client->usage_error = true;
        goto fail;
    }
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    if (sweep ? s_delete_sweep (client, conn, sweep, &cause)
              : s_delete_job (client, conn, id, &cause))
        goto fail;
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    free (cause);
    conn_destroy (&conn);
    return code;
}

//  Send command {key: id} and wait for reply_command; the reply (caller
//  destroys), or NULL with *cause "cannot delete KEY ID: ...".
static mt_msg_t *
s_ask (conn_t *conn, const char *command, const char *key, int64_t id,
       const char *reply_command, char **cause)
{
    mt_msg_t *reply = NULL;
    mt_msg_t *request = mt_msg_new (command);
    json_object_set_new (mt_msg_body (request), key, json_integer (id));
    if (conn_call (conn, &request, reply_command, &reply, cause)) {
        cmd_prefix_cause (cause, "cannot delete %s %lld", key, (long long) id);
        return NULL;
    }
    return reply;
}

static int
s_delete_job (client_t *client, conn_t *conn, int64_t id, char **cause)
{
    mt_msg_t *reply = s_ask (conn, "DELETE", "job", id, "DELETED", cause);
    if (!reply)
        return -1;
    json_t *body = mt_msg_body (reply);
    json_t *out = json_pack ("{s:I, s:O}", "job", (json_int_t) id, "blobs",
                             json_object_get (body, "blobs"));
    if (client->json && out)
        cmd_print_json (out);
    else
        printf ("job %lld: deleted (%lld blobs no other job names will be removed)\n",
                (long long) id, (long long) json_integer_value (json_object_get (body, "blobs")));
    json_decref (out);
    mt_msg_destroy (&reply);
    return 0;
}

static int
s_delete_sweep (client_t *client, conn_t *conn, int64_t id, char **cause)
{
    mt_msg_t *reply = s_ask (conn, "SWEEP_DELETE", "sweep", id, "SWEEP_DELETED", cause);
    if (!reply)
        return -1;
    json_t *body = mt_msg_body (reply);
    json_t *out = json_pack ("{s:I, s:O, s:O}", "sweep", (json_int_t) id, "jobs",
                             json_object_get (body, "jobs"), "blobs",
                             json_object_get (body, "blobs"));
    if (client->json && out)
        cmd_print_json (out);
    else
        printf ("sweep %lld: deleted with its %lld jobs (%lld blobs no other job names will be"
                " removed)\n", (long long) id,
                (long long) json_integer_value (json_object_get (body, "jobs")),
                (long long) json_integer_value (json_object_get (body, "blobs")));
    json_decref (out);
    mt_msg_destroy (&reply);
    return 0;
}
