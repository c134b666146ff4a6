/*  cmd_sweep - `mtclient sweep`: create a sweep of trials, and its status, list, stop, fetch, resume  */
//  `sweep --data FILE --target COL [submit's flags] --param NAME=SPACE ...`
//  takes the sweep's own flags out of argv, hands the rest to submit's
//  parser (the base spec, checked and uploaded as submit does it: once),
//  and sends SWEEP. The broker draws the trials and runs them as jobs.
#include "cmd_submit.h"
#include "mt/util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_MAX_PARAMS 32
#define SWEEP_WATCH_MS   1000   // between two looks at a watched sweep

//  The sweep's own flags (the base spec's are submit's)
typedef struct {
    const char *params [SWEEP_MAX_PARAMS];
    int n_params;
    const char *search, *early_stop, *metric, *name;
    int64_t trials, seed, parallel, min_epochs, reduction;
    bool has_seed, watch;
} s_sweep_t;

static int s_exec (client_t *client, int argc, char **argv);
static int s_create (client_t *client, int argc, char **argv);
static int s_split (int argc, char **argv, s_sweep_t *sweep, char **rest, int *n_rest,
                    char **cause);
static int s_one_sweep (client_t *client, int argc, char **argv, const char *verb);
static int s_list (client_t *client, int argc, char **argv);
static void s_list_print (json_t *sweeps);
static json_t *s_status (conn_t *conn, const char *command, int64_t id, int64_t top,
                         int64_t *resumed, char **cause);
static void s_render (const json_t *sweep);
static int s_watch (client_t *client, conn_t *conn, int64_t id);
static int s_fetch (client_t *client, int argc, char **argv);
static int s_sweep_id (client_t *client, const char *text, int64_t *id, char **cause);

const cmd_entry_t cmd_sweep_entry = {
    .name = "sweep",
    .usage = "--data FILE --target COLUMN --param NAME=SPACE ... [submit's options] |"
             " status|stop|resume|fetch SWEEP | list",
    .summary = "search many configurations as trials across the fleet, pruning with ASHA",
    .help =
        "  --param NAME=SPACE     a spec field to vary (repeat for more): a list lr=0.1|0.01,\n"
        "                         hidden=32|64,64; or a range lr=log-uniform:1e-4:1e-1,\n"
        "                         weight_decay=uniform:0:0.01, batch_size=int-uniform:16:256\n"
        "  --search grid|random   grid: every combination of the lists; random: --trials\n"
        "                         draws (default random)\n"
        "  --trials N             random: how many trials (default 10)\n"
        "  --seed S               seeds the draws (the same sweep draws the same trials) and\n"
        "                         the base spec's --seed (default 0)\n"
        "  --parallel K           at most K trials queued or running at once (default: all)\n"
        "  --early-stop asha|median|none             (default asha)\n"
        "  --min-epochs R         ASHA's first rung, and the median rule's first epoch (1)\n"
        "  --reduction ETA        ASHA keeps the top 1/ETA at each rung R, R ETA, ... (3)\n"
        "  --metric NAME          what trials are ranked by (default the spec's, val_loss);\n"
        "                         also the base spec's --metric\n"
        "  --name N               the sweep's name; trial K's job is named N:K\n"
        "  --watch                follow the sweep until it ends, then show its leaderboard\n"
        "  every submit option    the base spec (mtclient help submit); --val-split above 0\n"
        "                         or --val-data is needed\n"
        "sweep status S [--top N] [--json]\n"
        "                         the leaderboard, best first (its best N trials; at most\n"
        "                         1 MiB of them, `more` counting the rest); counts by state;\n"
        "                         the best trial; why each pruned or failed trial ended\n"
        "sweep list               the sweeps, newest first\n"
        "sweep stop S             stop every trial; sweep resume S runs the failed and\n"
        "                         stopped trials again, each from its checkpoint (never\n"
        "                         finished or pruned ones)\n"
        "sweep fetch S [-o FILE]  the best trial's model\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv [1] : "";
    if (strcmp (verb, "status") == 0 || strcmp (verb, "stop") == 0
    ||  strcmp (verb, "resume") == 0)
        return s_one_sweep (client, argc - 1, argv + 1, verb);
    if (strcmp (verb, "list") == 0)
        return s_list (client, argc - 1, argv + 1);
    if (strcmp (verb, "fetch") == 0)
        return s_fetch (client, argc - 1, argv + 1);
    return s_create (client, argc, argv);
}

//  --- sweep (create) --------------------------------------------------------------

//  Does arg name flag, as --flag VALUE or --flag=VALUE? *value gets the value
//  (NULL: it is the next argument).
static bool
s_is_flag (const char *arg, const char *flag, const char **value)
{
    size_t len = strlen (flag);
    if (strncmp (arg, flag, len) != 0)
        return false;
    if (arg [len] == 0) {
        *value = NULL;
        return true;
    }
    if (arg [len] == '=') {
        *value = arg + len + 1;
        return true;
    }
    return false;
}

//  The sweep's flags out of argv; the rest (argv [0] first) into rest
//  for submit's parser. --seed, --metric and --name go to both.
static int
s_split (int argc, char **argv, s_sweep_t *sweep, char **rest, int *n_rest, char **cause)
{
    static const char *own [] = { "--param", "--search", "--trials", "--parallel",
                                  "--early-stop", "--min-epochs", "--reduction", "--seed",
                                  "--metric", "--name" };
    *n_rest = 0;
    rest [(*n_rest)++] = argv [0];
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        size_t f = 0;
        if (strcmp (argv [i], "--watch") == 0) {
            sweep->watch = true;
            continue;
        }
        if (strcmp (argv [i], "--key") == 0 || strncmp (argv [i], "--key=", 6) == 0)
            return mt_fail (cause, "--key: a sweep takes no idempotency key");
        while (f < sizeof own / sizeof own [0] && !s_is_flag (argv [i], own [f], &value))
            f++;
        if (f == sizeof own / sizeof own [0]) {
            rest [(*n_rest)++] = argv [i];
            continue;
        }
        const char *flag = own [f];
        if (!value && i + 1 >= argc)
            return mt_fail (cause, "%s needs a value", flag);
        if (!value)
            value = argv [++i];
        int rc = 0;
        if (strcmp (flag, "--param") == 0) {
            if (sweep->n_params == SWEEP_MAX_PARAMS)
                return mt_fail (cause, "--param: at most %d parameters", SWEEP_MAX_PARAMS);
            sweep->params [sweep->n_params++] = value;
        }
        else if (strcmp (flag, "--search") == 0) {
            if (strcmp (value, "grid") && strcmp (value, "random"))
                return mt_fail (cause, "--search: '%s' is not grid or random", value);
            sweep->search = value;
        }
        else if (strcmp (flag, "--early-stop") == 0) {
            if (strcmp (value, "asha") && strcmp (value, "median") && strcmp (value, "none"))
                return mt_fail (cause, "--early-stop: '%s' is not asha, median or none", value);
            sweep->early_stop = value;
        }
        else if (strcmp (flag, "--trials") == 0)
            rc = cmd_parse_int (flag, value, 1, 10000, &sweep->trials, cause);
        else if (strcmp (flag, "--parallel") == 0)
            rc = cmd_parse_int (flag, value, 1, 10000, &sweep->parallel, cause);
        else if (strcmp (flag, "--min-epochs") == 0)
            rc = cmd_parse_int (flag, value, 1, INT32_MAX, &sweep->min_epochs, cause);
        else if (strcmp (flag, "--reduction") == 0)
            rc = cmd_parse_int (flag, value, 2, 1000, &sweep->reduction, cause);
        else {
            if (strcmp (flag, "--seed") == 0) {
                rc = cmd_parse_int (flag, value, 0, INT64_MAX, &sweep->seed, cause);
                sweep->has_seed = true;
            }
            else if (strcmp (flag, "--metric") == 0)
                sweep->metric = value;
            else
                sweep->name = value;
            rest [(*n_rest)++] = (char *) flag;
            rest [(*n_rest)++] = (char *) value;
        }
        if (rc)
            return -1;
    }
    if (sweep->n_params == 0)
        return mt_fail (cause, "sweep: give at least one --param NAME=SPACE, such as"
                        " --param lr=0.1|0.01|0.001");
    return 0;
}

//  The SWEEP request for spec and the sweep's flags
static mt_msg_t *
s_request (const mt_spec_t *spec, const s_sweep_t *sweep)
{
    mt_msg_t *request = mt_msg_new ("SWEEP");
    json_t *body = mt_msg_body (request);
    json_t *params = json_array ();
    for (int i = 0; i < sweep->n_params; i++)
        json_array_append_new (params, json_string (sweep->params [i]));
    json_object_set_new (body, "spec", mt_spec_to_value (spec));
    json_object_set_new (body, "params", params);
    if (sweep->search)
        json_object_set_new (body, "search", json_string (sweep->search));
    if (sweep->early_stop)
        json_object_set_new (body, "early_stop", json_string (sweep->early_stop));
    if (sweep->metric)
        json_object_set_new (body, "metric", json_string (sweep->metric));
    if (sweep->name)
        json_object_set_new (body, "name", json_string (sweep->name));
    const struct { const char *key; int64_t value; } ints [] = {
        { "trials", sweep->trials }, { "seed", sweep->seed }, { "parallel", sweep->parallel },
        { "min_epochs", sweep->min_epochs }, { "reduction", sweep->reduction } };
    for (size_t i = 0; i < sizeof ints / sizeof ints [0]; i++)
        if (ints [i].value > 0)
            json_object_set_new (body, ints [i].key, json_integer (ints [i].value));
    return request;
}

static int
s_create (client_t *client, int argc, char **argv)
{
    s_sweep_t sweep = { .n_params = 0 };
    char **rest = calloc ((size_t) argc + 1, sizeof *rest);
    int n_rest = 0;
    mt_spec_t spec;
    submit_opts_t opts;
    submit_sizes_t sizes;
    char *cause = NULL;
    conn_t *conn = NULL;
    json_t *reply = NULL;
    int code = CMD_EXIT_ERROR;
    mt_spec_init (&spec);
    if (!rest || s_split (argc, argv, &sweep, rest, &n_rest, &cause)) {
        client->usage_error = true;
        goto fail;
    }
    mt_spec_clear (&spec);
    if (submit_parse (client, n_rest, rest, &spec, &opts, &cause)
    ||  submit_check_data (client, &spec, &opts, &cause)
    ||  submit_hash_files (client, &spec, &opts, &sizes, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        goto done;
    if (submit_upload_files (conn, &spec, &opts, &sizes, &cause))
        goto fail;
    mt_msg_t *request = s_request (&spec, &sweep);
    mt_msg_t *answer = NULL;
    if (conn_call (conn, &request, "SWEPT", &answer, &cause))
        goto fail;
    reply = json_incref (mt_msg_body (answer));
    mt_msg_destroy (&answer);
    int64_t id = json_integer_value (json_object_get (reply, "sweep"));
    if (client->json)
        (sweep.watch ? cmd_print_json_line : cmd_print_json) (reply);
    else
        printf ("%lld\n", (long long) id);
    fflush (stdout);
    code = sweep.watch ? s_watch (client, conn, id) : CMD_EXIT_OK;
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    json_decref (reply);
    free (cause);
    free (rest);
    conn_destroy (&conn);
    mt_spec_clear (&spec);
    return code;
}

//  --- status, stop, resume, list, fetch ----------------------------------------------

static json_t *
s_status (conn_t *conn, const char *command, int64_t id, int64_t top, int64_t *resumed,
          char **cause)
{
    mt_msg_t *request = mt_msg_new (command);
    json_object_set_new (mt_msg_body (request), "sweep", json_integer (id));
    if (top > 0)
        json_object_set_new (mt_msg_body (request), "limit", json_integer (top));
    mt_msg_t *reply = NULL;
    if (conn_call (conn, &request, "SWEEP", &reply, cause))
        return NULL;
    json_t *sweep = json_incref (json_object_get (mt_msg_body (reply), "sweep"));
    if (resumed)
        *resumed = json_integer_value (json_object_get (mt_msg_body (reply), "resumed"));
    mt_msg_destroy (&reply);
    if (!json_is_object (sweep)) {
        json_decref (sweep);
        mt_fail (cause, "the broker's SWEEP reply has no sweep map");
        return NULL;
    }
    return sweep;
}

json_t *
cmd_sweep_public (const json_t *sweep)
{
    json_t *trials = json_array ();
    size_t i;
    json_t *t;
    json_array_foreach (json_object_get (sweep, "trials"), i, t)
        json_array_append_new (trials, json_pack ("{sO sO sO sO sO sO sO sO?}",
                               "job", json_object_get (t, "job"),
                               "params", json_object_get (t, "params"),
                               "state", json_object_get (t, "state"),
                               "outcome", json_object_get (t, "outcome"),
                               "epochs_run", json_object_get (t, "epochs_run"),
                               "best_metric", json_object_get (t, "best_metric"),
                               "best_epoch", json_object_get (t, "best_epoch"),
                               "error", json_object_get (t, "error")));
    json_t *more = json_object_get (sweep, "more");
    return json_pack ("{sO sO sO sO so sO sI}", "id", json_object_get (sweep, "id"),
                      "state", json_object_get (sweep, "state"),
                      "metric", json_object_get (sweep, "metric"),
                      "mode", json_object_get (sweep, "mode"), "trials", trials,
                      "best", json_object_get (sweep, "best"),
                      "more", json_is_integer (more) ? json_integer_value (more) : 0);
}

//  name=value ..., values as JSON
static void
s_params_text (const json_t *params, char *buf, size_t size)
{
    const char *key;
    json_t *value;
    size_t at = 0;
    buf [0] = 0;
    json_object_foreach ((json_t *) params, key, value) {
        char *text = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION (4));
        int n = snprintf (buf + at, size - at, "%s%s=%s", at ? " " : "", key, text ? text : "?");
        free (text);
        if (n < 0 || (size_t) n >= size - at)
            break;
        at += (size_t) n;
    }
}

static void
s_counts_line (const json_t *sweep, char *buf, size_t size)
{
    const char *key;
    json_t *value;
    size_t at = 0;
    buf [0] = 0;
    json_object_foreach (json_object_get (sweep, "counts"), key, value) {
        int n = snprintf (buf + at, size - at, "%s%s %lld", at ? ", " : "", key,
                          (long long) json_integer_value (value));
        if (n < 0 || (size_t) n >= size - at)
            break;
        at += (size_t) n;
    }
}

static void
s_render (const json_t *sweep)
{
    const char *name = json_string_value (json_object_get (sweep, "name"));
    json_t *trials = json_object_get (sweep, "trials");
    char counts [512], params [512];
    s_counts_line (sweep, counts, sizeof counts);
    printf ("sweep %lld%s%s%s: %s; %s search, early stop %s; ranked by %s (%s is better)\n",
            (long long) json_integer_value (json_object_get (sweep, "id")),
            name && *name ? " (" : "", name && *name ? name : "", name && *name ? ")" : "",
            json_string_value (json_object_get (sweep, "state")),
            json_string_value (json_object_get (sweep, "search")),
            json_string_value (json_object_get (sweep, "early_stop")),
            json_string_value (json_object_get (sweep, "metric")),
            strcmp (json_string_value (json_object_get (sweep, "mode")), "max") == 0
            ? "higher" : "lower");
    json_int_t more = json_integer_value (json_object_get (sweep, "more"));
    printf ("trials: %lld (%s)\n", (long long) json_array_size (trials) + more, counts);
    json_t *best = json_object_get (sweep, "best");
    if (json_is_object (best)) {
        s_params_text (json_object_get (best, "params"), params, sizeof params);
        printf ("best: job %lld, %s %.6g: %s\n",
                (long long) json_integer_value (json_object_get (best, "job")),
                json_string_value (json_object_get (sweep, "metric")),
                json_number_value (json_object_get (best, "best_metric")), params);
    }
    else
        printf ("best: none yet (no trial has finished)\n");
    printf ("%4s %5s %6s  %-10s %6s  %-18s %s\n", "rank", "trial", "job", "state", "epochs",
            "best (epoch)", "params");
    size_t i;
    json_t *t;
    json_array_foreach (trials, i, t) {
        char job [24] = "-", value [40] = "-";
        if (json_is_integer (json_object_get (t, "job")))
            snprintf (job, sizeof job, "%lld",
                      (long long) json_integer_value (json_object_get (t, "job")));
        if (json_is_number (json_object_get (t, "best_metric")))
            snprintf (value, sizeof value, "%.6g (%lld)",
                      json_number_value (json_object_get (t, "best_metric")),
                      (long long) json_integer_value (json_object_get (t, "best_epoch")));
        s_params_text (json_object_get (t, "params"), params, sizeof params);
        printf ("%4zu %5lld %6s  %-10s %6lld  %-18s %s\n", i + 1,
                (long long) json_integer_value (json_object_get (t, "trial")), job,
                json_string_value (json_object_get (t, "state")),
                (long long) json_integer_value (json_object_get (t, "epochs_run")), value, params);
    }
    if (more > 0)
        printf ("  ... and %lld more trials, not shown (mtclient sweep status --top N shows the"
                " best N)\n", (long long) more);
    //  Why each pruned or failed trial ended
    bool heading = false;
    json_array_foreach (trials, i, t) {
        const char *state = json_string_value (json_object_get (t, "state"));
        const char *error = json_string_value (json_object_get (t, "error"));
        if (!error || !state || (strcmp (state, "pruned") && strcmp (state, "failed")))
            continue;
        if (!heading)
            printf ("why:\n");
        heading = true;
        printf ("%4zu  trial %lld, job %lld: %s\n", i + 1,
                (long long) json_integer_value (json_object_get (t, "trial")),
                (long long) json_integer_value (json_object_get (t, "job")), error);
    }
}

enum { O_TOP = CMD_OPT_LOCAL };

static int
s_top_option (int opt, const char *arg, void *top_p, char **cause)
{
    assert (opt == O_TOP);
    return cmd_parse_int ("--top", arg, 1, 10000, top_p, cause);     // a sweep's trials, at most
}

//  SWEEP operand: a sweep id; with top, `status`'s --top N too (else 0)
static int
s_parse_one (client_t *client, int argc, char **argv, int64_t *id, int64_t *top, char **cause)
{
    char *operands [1];
    int n = 0;
    if (top)
        *top = 0;
    if (top ? cmd_parse (client, &cmd_sweep_entry, argc, argv, "", (struct option []) {
                             { "top", required_argument, NULL, O_TOP },
                             CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                         s_top_option, top, operands, 1, &n, cause)
            : cmd_parse_plain (client, &cmd_sweep_entry, argc, argv, operands, 1, &n, cause))
        return -1;
    if (n != 1) {
        client->usage_error = true;
        return mt_fail (cause, "sweep %s: give the sweep's id", argv [0]);
    }
    return s_sweep_id (client, operands [0], id, cause);
}

//  A sweep id operand (1 .. 2^53), as `sweep list` shows them
static int
s_sweep_id (client_t *client, const char *text, int64_t *id, char **cause)
{
    char *why = NULL;
    if (cmd_parse_job (text, id, &why) == 0)
        return 0;
    free (why);
    client->usage_error = true;
    return mt_fail (cause, "'%s' is not a sweep id (a positive whole number, as `mtclient sweep"
                    " list` shows)", text);
}

static int
s_one_sweep (client_t *client, int argc, char **argv, const char *verb)
{
    int64_t id, resumed = 0, top = 0;
    char *cause = NULL;
    conn_t *conn = NULL;
    json_t *sweep = NULL;
    int code = CMD_EXIT_OK;
    if (s_parse_one (client, argc, argv, &id, strcmp (verb, "status") == 0 ? &top : NULL, &cause))
        goto fail;
    if (!(conn = cmd_connect (client, &code)))
        return code;
    const char *command = strcmp (verb, "stop") == 0 ? "SWEEP_STOP"
                        : strcmp (verb, "resume") == 0 ? "SWEEP_RESUME" : "SWEEP_STATUS";
    if (!(sweep = s_status (conn, command, id, top, &resumed, &cause)))
        goto fail;
    if (client->json) {
        json_t *out = cmd_sweep_public (sweep);
        if (strcmp (verb, "resume") == 0)
            json_object_set_new (out, "resumed", json_integer (resumed));
        cmd_print_json (out);
        json_decref (out);
    }
    else {
        if (strcmp (verb, "resume") == 0)
            printf ("resumed: %lld trials run again\n", (long long) resumed);
        s_render (sweep);
    }
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    json_decref (sweep);
    free (cause);
    conn_destroy (&conn);
    return code;
}

static int
s_list (client_t *client, int argc, char **argv)
{
    return cmd_show_exec (client, &cmd_sweep_entry, argc, argv, &(cmd_show_t) {
                              .command = "SWEEP_LIST", .reply = "SWEEPS", .field = "sweeps",
                              .type = JSON_ARRAY, .print = s_list_print });
}

//  The sweep list as a table, a line per sweep
static void
s_list_print (json_t *sweeps)
{
    size_t i;
    json_t *s;
    if (json_array_size (sweeps) == 0)
        printf ("no sweeps\n");
    else
        printf ("%5s  %-16s %-9s %-7s %-7s %-10s %6s  %s\n", "id", "name", "state", "search",
                "stop", "metric", "trials", "counts");
    json_array_foreach (sweeps, i, s) {
        char counts [512];
        s_counts_line (s, counts, sizeof counts);
        printf ("%5lld  %-16.16s %-9s %-7s %-7s %-10s %6lld  %s\n",
                (long long) json_integer_value (json_object_get (s, "id")),
                json_string_value (json_object_get (s, "name")),
                json_string_value (json_object_get (s, "state")),
                json_string_value (json_object_get (s, "search")),
                json_string_value (json_object_get (s, "early_stop")),
                json_string_value (json_object_get (s, "metric")),
                (long long) json_integer_value (json_object_get (s, "trials")), counts);
    }
}

//  Follow the sweep until it is no longer running: a line when its counts
//  change, then the leaderboard. CMD_EXIT_OK when it has a best trial.
static int
s_watch (client_t *client, conn_t *conn, int64_t id)
{
    char last [512] = "", *cause = NULL;
    for (;;) {
        //  While it runs only the counts are shown, so the best trial alone
        //  is asked for (a large sweep's whole leaderboard costs the broker
        //  tens of ms a look); once it has ended, the whole leaderboard
        json_t *sweep = s_status (conn, "SWEEP_STATUS", id, 1, NULL, &cause);
        bool running = sweep && strcmp (json_string_value (json_object_get (sweep, "state")),
                                        "running") == 0;
        if (sweep && !running) {
            json_decref (sweep);
            sweep = s_status (conn, "SWEEP_STATUS", id, 0, NULL, &cause);
        }
        if (!sweep) {
            int code = cmd_fail (client, conn, cause);
            free (cause);
            return code;
        }
        char counts [512];
        s_counts_line (sweep, counts, sizeof counts);
        if (!running) {
            bool best = json_is_object (json_object_get (sweep, "best"));
            if (client->json) {
                json_t *out = cmd_sweep_public (sweep);
                cmd_print_json_line (out);
                json_decref (out);
            }
            else
                s_render (sweep);
            json_decref (sweep);
            return best ? CMD_EXIT_OK : CMD_EXIT_ERROR;
        }
        if (strcmp (counts, last) != 0 && !client->json) {
            printf ("sweep %lld: %s\n", (long long) id, counts);
            fflush (stdout);
            mt_strlcpy (last, counts, sizeof last);
        }
        json_decref (sweep);
        zclock_sleep (SWEEP_WATCH_MS);
    }
}

//  sweep fetch S [-o FILE]: the best trial's model, as `mtclient fetch JOB`
static int
s_fetch (client_t *client, int argc, char **argv)
{
    const char *id_text = NULL, *output = NULL;
    char *cause = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp (argv [i], "-o") == 0 || strcmp (argv [i], "--output") == 0) && i + 1 < argc)
            output = argv [++i];
        else
        if (strncmp (argv [i], "--output=", 9) == 0)
            output = argv [i] + 9;
        else
        if (argv [i][0] != '-' && !id_text)
            id_text = argv [i];
        else {
            mt_fail (&cause, "sweep fetch: unexpected '%s'; give SWEEP [-o FILE]", argv [i]);
            return cmd_usage_fail (client, &cause);
        }
    }
    int64_t id;
    if (!id_text || s_sweep_id (client, id_text, &id, &cause)) {
        if (!cause)
            mt_fail (&cause, "sweep fetch: give the sweep's id");
        return cmd_usage_fail (client, &cause);
    }
    int code = CMD_EXIT_OK;
    conn_t *conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    json_t *sweep = s_status (conn, "SWEEP_STATUS", id, 1, NULL, &cause);    // its best alone
    json_t *best = sweep ? json_object_get (sweep, "best") : NULL;
    if (sweep && !json_is_object (best))
        mt_fail (&cause, "sweep %lld has no finished trial yet, so no model to fetch; `mtclient"
                 " sweep status %lld` shows its trials", (long long) id, (long long) id);
    if (cause) {
        code = cmd_fail (client, conn, cause);
        free (cause);
        json_decref (sweep);
        conn_destroy (&conn);
        return code;
    }
    char job [32];
    snprintf (job, sizeof job, "%lld", (long long) json_integer_value (json_object_get (best, "job")));
    json_decref (sweep);
    conn_destroy (&conn);
    char *args [4] = { "fetch", job, NULL, NULL };
    int n = 2;
    if (output) {
        args [n++] = "-o";
        args [n++] = (char *) output;
    }
    return cmd_fetch_entry.exec (client, n, args);
}
