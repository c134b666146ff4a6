/*  cmd_list - `mtclient list`: the jobs, newest first  */
#include "cmd.h"
#include "mt/util.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT_LIMIT  100
#define LIST_MAX_LIMIT      10000

enum { O_STATE = CMD_OPT_LOCAL, O_LIMIT, O_BEFORE, O_NAME, O_PAGE, O_SWEEP };

typedef struct {
    const char *state;          // --state, or NULL for all
    const char *name;           // --name, or NULL for all
    int64_t before;             // --before: ids below it; 0 = from the newest
    int64_t limit;              // --limit
    int64_t sweep;              // --sweep, 0 for any
    bool page;                  // --page: one page, and where the next starts
} s_list_t;

static const char *s_states [] = { "queued", "running", "stopping", "succeeded", "failed",
                                   "stopped", "pruned" };

static int s_option (int opt, const char *arg, void *list_p, char **cause);
static int s_newest_first (const void *a, const void *b);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_list_entry = {
    .name = "list",
    .usage = "[--state STATE] [--name NAME] [--sweep S] [--before ID] [--limit N] [--page]",
    .summary = "list jobs, newest first: id, name, state, attempt, epoch, loss, worker, created",
    .help =
        "  --state STATE  only jobs in this state: queued, running, stopping, succeeded,\n"
        "                 failed, stopped or pruned\n"
        "  --name NAME    only jobs of this name\n"
        "  --sweep S      only sweep S's trials\n"
        "  --before ID    only jobs older than job ID (a page's `next`)\n"
        "  --limit N      at most N jobs, 1 to 10000 (default 100), fetched page by page\n"
        "  --page         one page only (the broker caps a page by size), and where the\n"
        "                 next one starts: `next: ID`, or {\"jobs\", \"next\"} with --json\n"
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
    if (opt == O_BEFORE)
        return cmd_parse_int ("--before", arg, 1, INT64_MAX, &list->before, cause);
    if (opt == O_PAGE) {
        list->page = true;
        return 0;
    }
    if (opt == O_NAME) {
        list->name = arg;
        return *arg ? 0 : mt_fail (cause, "--name: give a job name");
    }
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

//  Ask for pages from list->before on until list->limit jobs or the last
//  one (one page with --page); *next gets where the next page starts, 0 at
//  the end. A new JSON array, or NULL with *cause.
static json_t *
s_fetch_pages (conn_t *conn, const s_list_t *list, int64_t *next, char **cause)
{
    json_t *all = json_array ();
    *next = list->before;
    do {
        mt_msg_t *request = mt_msg_new ("LIST");
        json_t *body = mt_msg_body (request);
        if (list->state)
            json_object_set_new (body, "state", json_string (list->state));
        if (list->name)
            json_object_set_new (body, "name", json_string (list->name));
        if (list->sweep)
            json_object_set_new (body, "sweep", json_integer (list->sweep));
        if (*next)
            json_object_set_new (body, "before", json_integer (*next));
        json_object_set_new (body, "limit",
                             json_integer (list->limit - (json_int_t) json_array_size (all)));
        mt_msg_t *reply = NULL;
        if (conn_call (conn, &request, "JOBS", &reply, cause)) {
            json_decref (all);
            return NULL;
        }
        json_t *jobs = json_object_get (mt_msg_body (reply), "jobs");
        json_t *after = json_object_get (mt_msg_body (reply), "next");
        int64_t was = *next;
        *next = json_is_integer (after) ? json_integer_value (after) : 0;
        if (!json_is_array (jobs) || (*next && was && *next >= was)) {
            mt_msg_destroy (&reply);
            json_decref (all);
            mt_fail (cause, "the broker sent a malformed JOBS (no list, or a `next` that does"
                     " not move on); are mtclient and mtbroker the same version?");
            return NULL;
        }
        json_array_extend (all, jobs);
        mt_msg_destroy (&reply);
    } while (!list->page && *next && (int64_t) json_array_size (all) < list->limit);
    return all;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    s_list_t list = { NULL, NULL, 0, LIST_DEFAULT_LIMIT, 0, false };
    char *operands [1];
    int n = 0;
    char *cause = NULL;
    conn_t *conn = NULL;
    json_t *jobs = NULL;
    int64_t next = 0;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_list_entry, argc, argv, "", (struct option []) {
                       { "state", required_argument, NULL, O_STATE },
                       { "name", required_argument, NULL, O_NAME },
                       { "before", required_argument, NULL, O_BEFORE },
                       { "limit", required_argument, NULL, O_LIMIT },
                       { "sweep", required_argument, NULL, O_SWEEP },
                       { "page", no_argument, NULL, O_PAGE },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &list, operands, 0, &n, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    jobs = s_fetch_pages (conn, &list, &next, &cause);
    if (!jobs)
        goto fail;
    if (client->json && list.page) {
        json_t *out = json_pack ("{s:O, s:o}", "jobs", jobs,
                                 "next", next ? json_integer (next) : json_null ());
        cmd_print_json (out);
        json_decref (out);
    }
    else
    if (client->json)
        cmd_print_json (jobs);      // the array, as before paging
    else {
        s_render (jobs);
        if (list.page && next)
            printf ("next: %lld (mtclient list --page --before %lld)\n", (long long) next,
                    (long long) next);
    }
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    json_decref (jobs);
    free (cause);
    conn_destroy (&conn);
    return code;
}
