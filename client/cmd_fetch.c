/*  cmd_fetch - `mtclient fetch JOB`: download a job's model and check its SHA-256  */
#include "cmd.h"
#include "mt/log.h"
#include "mt/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *output;         // -o FILE, or NULL for job-N.safetensors
} s_fetch_t;

static int s_option (int opt, const char *arg, void *fetch_p, char **cause);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_fetch_entry = {
    .name = "fetch",
    .usage = "JOB [-o FILE]",
    .summary = "download a finished job's model (default file job-N.safetensors); prints the path",
    .help = "  -o, --output FILE  where to write the model (replaced atomically)\n"
            "  --json             print {\"path\", \"hash\", \"size\"}\n",
    .exec = s_exec,
};

static int
s_option (int opt, const char *arg, void *fetch_p, char **cause)
{
    s_fetch_t *fetch = fetch_p;
    if (*arg == 0)
        return mt_fail (cause, "-o: give a file name");
    fetch->output = arg;
    return 0;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    s_fetch_t fetch = { NULL };
    char *operands [1];
    int n = 0;
    char *cause = NULL, *path = NULL, *hash = NULL;
    conn_t *conn = NULL;
    int64_t id, size = 0;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_fetch_entry, argc, argv, "o:", (struct option []) {
                       { "output", required_argument, NULL, 'o' },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &fetch, operands, 1, &n, &cause))
        goto fail;
    if (n != 1) {
        client->usage_error = true;
        mt_fail (&cause, "fetch: give a job id (usage: mtclient fetch JOB [-o FILE])");
        goto fail;
    }
    if (cmd_parse_job (operands [0], &id, &cause))
        goto fail;
    if (fetch.output)
        path = strdup (fetch.output);
    else
    if (asprintf (&path, "job-%lld.safetensors", (long long) id) < 0)
        path = NULL;
    conn = path ? cmd_connect (client) : NULL;
    if (!conn) {
        free (path);
        return CMD_EXIT_ERROR;
    }
    if (conn_fetch (conn, id, path, &hash, &size, &cause)) {
        char *why = cause;
        cause = NULL;
        mt_fail (&cause, "cannot fetch the model of job %lld: %s", (long long) id, why);
        free (why);
        goto fail;
    }
    mt_info ("fetch: %lld bytes, sha256 %s", (long long) size, hash);
    if (client->json) {
        json_t *out = json_pack ("{sssssI}", "path", path, "hash", hash, "size", (json_int_t) size);
        cmd_print_json (out);
        json_decref (out);
    }
    else
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
