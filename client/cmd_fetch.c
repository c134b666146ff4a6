/*  cmd_fetch - `mtclient fetch JOB`: download a job's model and check its SHA-256  */
#include "cmd.h"
#include "mt/log.h"
#include "mt/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_CHECKPOINT = CMD_OPT_LOCAL };

typedef struct {
    const char *output;         // -o FILE, or NULL for job-N.safetensors
    bool checkpoint;            // --checkpoint: the latest checkpoint, not the model
} s_fetch_t;

static int s_option (int opt, const char *arg, void *fetch_p, char **cause);
static bool s_no_model (conn_t *conn, int64_t id, char **cause);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_fetch_entry = {
    .name = "fetch",
    .usage = "JOB [--checkpoint] [-o FILE]",
    .summary = "download a finished job's model (default file job-N.safetensors); prints the path",
    .help = "  -o, --output FILE  where to write the model: a file is replaced atomically (a\n"
            "                     link's target, mode 0644 under the umask), a device or\n"
            "                     FIFO written straight through, - is stdout; a folder is\n"
            "                     refused\n"
            "  --checkpoint       the job's latest checkpoint instead (a failed or stopped\n"
            "                     job's; default file job-N.checkpoint)\n"
            "  --json             print {\"path\", \"hash\", \"size\"} (not with -o -)\n",
    .exec = s_exec,
};

static int
s_option (int opt, const char *arg, void *fetch_p, char **cause)
{
    s_fetch_t *fetch = fetch_p;
    if (opt == O_CHECKPOINT) {
        fetch->checkpoint = true;
        return 0;
    }
    if (*arg == 0)
        return mt_fail (cause, "-o: give a file name");
    fetch->output = arg;
    return 0;
}

//  The broker refused with bad_state: the job has no model. Say whether one
//  may still come, by the job's state. Returns true when *cause was
//  replaced, false (the broker's words kept) when the state is unknown.
static bool
s_no_model (conn_t *conn, int64_t id, char **cause)
{
    char *why = NULL;
    json_t *job = cmd_job_status (conn, id, &why);
    const char *state = json_string_value (json_object_get (job, "state"));
    const char *error = json_string_value (json_object_get (job, "error"));
    bool ended = state && (strcmp (state, "failed") == 0 || strcmp (state, "stopped") == 0
                       ||  strcmp (state, "pruned") == 0
                       ||  strcmp (state, "succeeded") == 0);
    if (ended)
        mt_fail (cause, "job %lld ended without a model (it is %s%s%s); there is nothing to "
                 "fetch", (long long) id, state, error && *error ? ": " : "",
                 error && *error ? error : "");
    else
    if (state)
        mt_fail (cause, "job %lld is %s and has no model yet; `mtclient watch %lld` follows "
                 "it to the end", (long long) id, state, (long long) id);
    bool known = state != NULL;
    json_decref (job);
    free (why);
    return known;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    s_fetch_t fetch = { NULL, false };
    char *operands [1];
    int n = 0;
    char *cause = NULL, *path = NULL, *hash = NULL;
    conn_t *conn = NULL;
    int64_t id, size = 0;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_fetch_entry, argc, argv, "o:", (struct option []) {
                       { "output", required_argument, NULL, 'o' },
                       { "checkpoint", no_argument, NULL, O_CHECKPOINT },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &fetch, operands, 1, &n, &cause))
        goto fail;
    if (n != 1) {
        client->usage_error = true;
        mt_fail (&cause, "fetch: give a job id (usage: mtclient fetch JOB [-o FILE])");
        goto fail;
    }
    if (cmd_parse_job (operands [0], &id, &cause)) {
        client->usage_error = true;
        goto fail;
    }
    if (fetch.output)
        path = strdup (fetch.output);
    else
    if (asprintf (&path, fetch.checkpoint ? "job-%lld.checkpoint" : "job-%lld.safetensors",
                  (long long) id) < 0)
        path = NULL;
    if (!path) {
        mt_fail (&cause, "out of memory");
        goto fail;
    }
    bool to_stdout = strcmp (path, "-") == 0;
    if (to_stdout && client->json) {
        client->usage_error = true;
        mt_fail (&cause, "fetch: -o - writes the model to stdout, where --json would print"
                 " too; give -o FILE with --json");
        goto fail;
    }
    if (mt_output_check (path, &cause)) {
        client->usage_error = true;
        cmd_prefix_cause (&cause, "-o");
        goto fail;
    }
    conn = cmd_connect (client, &code);
    if (!conn) {
        free (path);
        return code;
    }
    if (conn_fetch_what (conn, id, fetch.checkpoint ? "checkpoint" : "model", path, &hash,
                         &size, &cause)) {
        const char *error = conn_error_code (conn);
        if (!fetch.checkpoint && error && strcmp (error, MT_ERR_BAD_STATE) == 0
        &&  s_no_model (conn, id, &cause)) {
            client->error = MT_ERR_BAD_STATE;   // the STATUS asked since has no error
            goto fail;
        }
        cmd_prefix_cause (&cause, "cannot fetch the %s of job %lld",
                          fetch.checkpoint ? "checkpoint" : "model", (long long) id);
        goto fail;
    }
    mt_info ("fetch: %lld bytes, sha256 %s", (long long) size, hash);
    if (client->json) {
        json_t *out = json_pack ("{sssssI}", "path", path, "hash", hash, "size", (json_int_t) size);
        cmd_print_json (out);
        json_decref (out);
    }
    else
    if (!to_stdout)
        printf ("%s\n", path);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    free (path);
    free (hash);
    free (cause);
    conn_destroy (&conn);
    return code;
}
