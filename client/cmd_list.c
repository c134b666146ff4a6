/*  cmd_list - `mtclient list`: the jobs, newest first  */
#include "cmd.h"
#include "mt/util.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT_LIMIT  100
#define LIST_MAX_LIMIT      10000

enum { O_STATE = CMD_OPT_LOCAL, O_LIMIT, O_SWEEP };

typedef struct {
    const char *state;          // --state, or NULL for all
    int64_t limit;              // --limit
    int64_t sweep;              // --sweep, 0 for any
} s_list_t;

static const char *s_states [] = { "queued", "running", "stopping", "succeeded", "failed",
                                   "stopped", "pruned" };

static int s_option (int opt, const char *arg, void *list_p, char **cause);
static int s_newest_first (const void *a, const void *b);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_list_entry = {
    .name = "list",
    .usage = "[--state STATE] [--limit N] [--sweep S]",
    .summary = "list jobs, newest first: id, name, state, attempt, epoch, loss, worker, created",
    .help =
        "  --state STATE  only jobs in this state: queued, running, stopping, succeeded,\n"
        "                 failed, stopped or pruned\n"
        "  --sweep S      only sweep S's trials\n"
        "  --limit N      at most N jobs, 1 to 10000 (default 100)\n"
        "  --json         print the list of job maps\n",
    .exec = s_exec,
};

static int
s_option (int opt, const char *arg, void *list_p, char **cause)
{
    s_list_t *list = list_p;
    if (opt == O_LIMIT)
        return cmd_parse_int ("--limit", arg, 1, LIST_MAX_LIMIT, &list->limit, cause);
    if (opt == O_SWEEP)
        return cmd_parse_int ("--sweep", arg, 1, INT64_MAX, &list->sweep, cause);
    for (size_t i = 0; i < sizeof s_states / sizeof s_states [0]; i++)
        if (strcmp (arg, s_states [i]) == 0) {
            list->state = arg;
            return 0;
        }
    return mt_fail (cause, "--state: '%s' is not one of queued, running, stopping, succeeded, "
                    "failed, stopped, pruned", arg);
}

static int
s_newest_first (const void *a, const void *b)
{
    json_int_t x = json_integer_value (json_object_get (*(json_t * const *) a, "id"));
    json_int_t y = json_integer_value (json_object_get (*(json_t * const *) b, "id"));
    return x < y ? 1 : x > y ? -1 : 0;
}

//  The jobs sorted by id, newest first, for the table.
static void
s_render (json_t *jobs)
{
    size_t count = json_array_size (jobs);
    json_t **items = calloc (count ? count : 1, sizeof (json_t *));
    json_t *sorted = json_array ();
    if (items && sorted) {
        for (size_t i = 0; i < count; i++)
            items [i] = json_array_get (jobs, i);
        qsort (items, count, sizeof (json_t *), s_newest_first);
        for (size_t i = 0; i < count; i++)
            json_array_append (sorted, items [i]);
        if (count == 0)
            printf ("no jobs\n");
        else
            render_jobs (stdout, sorted);
    }
    free (items);
    json_decref (sorted);
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    s_list_t list = { NULL, LIST_DEFAULT_LIMIT, 0 };
    char *operands [1];
    int n = 0;
    char *cause = NULL;
    conn_t *conn = NULL;
    json_t *jobs = NULL;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_list_entry, argc, argv, "", (struct option []) {
                       { "state", required_argument, NULL, O_STATE },
                       { "limit", required_argument, NULL, O_LIMIT },
                       { "sweep", required_argument, NULL, O_SWEEP },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &list, operands, 0, &n, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    mt_msg_t *request = mt_msg_new ("LIST");
    if (list.state)
        json_object_set_new (mt_msg_body (request), "state", json_string (list.state));
    json_object_set_new (mt_msg_body (request), "limit", json_integer (list.limit));
    if (list.sweep)
        json_object_set_new (mt_msg_body (request), "sweep", json_integer (list.sweep));
    jobs = cmd_request (conn, &request, "JOBS", "jobs", JSON_ARRAY, &cause);
    if (!jobs)
        goto fail;
    if (client->json)
        cmd_print_json (jobs);
    else
        s_render (jobs);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    json_decref (jobs);
    free (cause);
    conn_destroy (&conn);
    return code;
}
