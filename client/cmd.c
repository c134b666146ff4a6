/*  cmd - the subcommand table, global options and helpers every subcommand shares  */
#include "cmd.h"
#include "encode.h"
#include "model.h"
#include "mt/log.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int s_parse_files (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                          bool with_out, const char *usage, cmd_files_t *files, char **cause);
static model_t *s_load_model (const cmd_files_t *files, bool with_target, char **cause);

static const cmd_entry_t *s_table [] = {
    &cmd_submit_entry, &cmd_status_entry, &cmd_watch_entry, &cmd_stop_entry,
    &cmd_list_entry, &cmd_workers_entry, &cmd_fetch_entry, &cmd_predict_entry,
    &cmd_eval_entry, &cmd_keygen_entry, &cmd_stats_entry, &cmd_sweep_entry, &cmd_resume_entry,
    &cmd_delete_entry,
};
#define CMD_COUNT ((int) (sizeof s_table / sizeof s_table [0]))

static const char *s_global_help =
    "global options (before or after the command):\n"
    "  --broker EP    the broker's client endpoint (default: $MT_BROKER, else "
    CMD_DEFAULT_BROKER ")\n"
    "  --timeout S    seconds to wait for each answer from the broker (default 5)\n"
    "  --cert FILE    CurveZMQ: this client's secret cert, NAME_secret from `mtclient keygen\n"
    "                 NAME` (default: $MT_CERT); needs --broker-key\n"
    "  --broker-key FILE  CurveZMQ: the broker's public cert (default: $MT_BROKER_KEY)\n"
    "  --json         print JSON for scripts instead of tables; a failure as one line\n"
    "                 {\"error\": {\"code\", \"message\"}} on stdout (same exit codes)\n"
    "  -v, --verbose  log what mtclient does on stderr (twice: every message)\n"
    "  -h, --help     this text; `mtclient help COMMAND` shows a command's options\n"
    "  --version      print the version\n"
    "\n"
    "exit codes:\n"
    "  0  done (watch and submit --watch: the job succeeded)\n"
    "  1  the work failed: the broker answered with an error (no such job, a job in the\n"
    "     wrong state, ...), the watched job failed or was stopped, a file could not be\n"
    "     read or written while working (an upload, a fetched model, predict's rows,\n"
    "     keygen's files)\n"
    "  2  a usage error, refused before anything is sent or written: an unknown command\n"
    "     or option, a missing argument, or a bad value of an option or argument (a\n"
    "     number out of range, a job id that is not a number, a --target or --features\n"
    "     column that is not in the --data file, a --data, --init or --model file that\n"
    "     cannot be used, an -o or --out that is a folder, a malformed --broker (such\n"
    "     as a port out of 1..65535), a --cert or --broker-key that cannot be used)\n"
    "  3  no answer from the broker within --timeout\n"
    "  4  forbidden: with keys, the job is another client's (ask its owner or an admin)\n";

static int s_global_main (client_t *client, int argc, char **argv, int *index, char **cause);
static int s_operand (client_t *client, const cmd_entry_t *entry, const char *arg,
                      char **operands, int max, int *count, char **cause);
static void s_apply_verbosity (const client_t *client);
static void s_json_later (client_t *client, int argc, char **argv, int from);
static int s_main_usage (client_t *client, const char *cause);

void
cmd_client_init (client_t *client)
{
    memset (client, 0, sizeof *client);
    const char *env = getenv ("MT_BROKER");
    client->broker = env && *env ? env : CMD_DEFAULT_BROKER;
    env = getenv ("MT_CERT");
    client->cert = env && *env ? env : NULL;
    env = getenv ("MT_BROKER_KEY");
    client->broker_key = env && *env ? env : NULL;
    client->timeout_s = CMD_DEFAULT_TIMEOUT;
    client->reconnect_s = CMD_DEFAULT_RECONNECT;
    client->tty = isatty (STDOUT_FILENO);
    const char *codeset = nl_langinfo (CODESET);
    client->utf8 = codeset && strcmp (codeset, "UTF-8") == 0;
}

const cmd_entry_t *
cmd_find (const char *name)
{
    for (int i = 0; name && i < CMD_COUNT; i++)
        if (strcmp (s_table [i]->name, name) == 0)
            return s_table [i];
    return NULL;
}

void
cmd_usage (bool to_stderr)
{
    FILE *out = to_stderr ? stderr : stdout;
    fprintf (out, "usage: mtclient [--broker EP] [--timeout S] [--json] [-v] COMMAND [ARGS]\n\n"
             "commands:\n");
    for (int i = 0; i < CMD_COUNT; i++)
        fprintf (out, "  %s%s%s\n             %s\n", s_table [i]->name,
                 *s_table [i]->usage ? " " : "", s_table [i]->usage, s_table [i]->summary);
    fprintf (out, "  help [COMMAND]\n             this text, or a command's options\n\n%s",
             s_global_help);
}

void
cmd_help (const cmd_entry_t *entry)
{
    printf ("usage: mtclient %s %s\n\n%s\n", entry->name, entry->usage, entry->summary);
    if (entry->help)
        printf ("\noptions:\n%s", entry->help);
    printf ("\n%s", s_global_help);
}

int
cmd_parse_real (const char *flag, const char *text, double lo, double hi, double *out,
                char **cause)
{
    char *end = NULL;
    errno = 0;
    double value = text && *text ? strtod (text, &end) : NAN;
    if (!text || !*text || *end || !isfinite (value) || errno == ERANGE)
        return mt_fail (cause, "%s: '%s' is not a number", flag, text ? text : "");
    if (value < lo || value > hi)
        return mt_fail (cause, "%s: %s is out of range (%g to %g)", flag, text, lo, hi);
    *out = value;
    return 0;
}

int
cmd_parse_int (const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out,
               char **cause)
{
    return mt_parse_int (flag, text, lo, hi, out, cause);
}

int
cmd_parse_job (const char *text, int64_t *job, char **cause)
{
    char *end = NULL;
    errno = 0;
    long long value = text && *text ? strtoll (text, &end, 10) : 0;
    if (!text || !*text || *end || errno == ERANGE || value < 1 || value > ((int64_t) 1 << 53))
        return mt_fail (cause, "'%s' is not a job id (a positive whole number, as `mtclient list` "
                        "shows)", text ? text : "");
    *job = value;
    return 0;
}

//  A failure found before the arguments from argv [from] on were read: a
//  --json among them still asks for the failure in JSON.
static void
s_json_later (client_t *client, int argc, char **argv, int from)
{
    for (int i = from; i < argc && strcmp (argv [i], "--") != 0; i++)
        if (strcmp (argv [i], "--json") == 0)
            client->json = true;
}

//  A usage error of mtclient's own arguments: reported, then (as text) the
//  usage listing on stderr.
static int
s_main_usage (client_t *client, const char *cause)
{
    client->usage_error = true;
    int code = cmd_fail (client, NULL, cause);
    if (!client->json)
        cmd_usage (true);
    return code;
}

static void
s_apply_verbosity (const client_t *client)
{
    mt_log_set_level (client->verbose >= 2 ? MT_LOG_DEBUG
                    : client->verbose == 1 ? MT_LOG_INFO : MT_LOG_WARN);
}

static int
s_operand (client_t *client, const cmd_entry_t *entry, const char *arg, char **operands,
           int max, int *count, char **cause)
{
    if (*count >= max) {
        client->usage_error = true;
        return mt_fail (cause, "%s: unexpected argument '%s' (usage: mtclient %s %s)",
                        entry->name, arg, entry->name, entry->usage);
    }
    operands [(*count)++] = (char *) arg;
    return 0;
}

int
cmd_parse (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
           const char *shorts, const struct option *longs, cmd_option_fn *handle,
           void *handle_arg, char **operands, int max_operands, int *n_operands, char **cause)
{
    char optstring [128];
    snprintf (optstring, sizeof optstring, "%s%s", CMD_GLOBAL_SHORT, shorts ? shorts : "");
    optind = 0;                 // glibc: a full re-initialisation
    opterr = 0;
    *n_operands = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, optstring, longs, NULL)) != -1) {
        const char *flag = argv [optind - 1];
        int rc = 0;
        if (opt == 1)
            rc = s_operand (client, entry, optarg, operands, max_operands, n_operands, cause);
        else
        if (opt == ':' || opt == '?') {
            client->usage_error = true;
            char name [3] = { '-', (char) optopt, 0 };
            const char *which = strncmp (flag, "--", 2) == 0 || !optopt ? flag : name;
            rc = opt == ':'
               ? mt_fail (cause, "%s: option %s needs a value (see mtclient help %s)",
                          entry->name, which, entry->name)
               : mt_fail (cause, "%s: unknown option '%s' (see mtclient help %s)",
                          entry->name, which, entry->name);
        }
        else
        if (opt == 'h') {
            cmd_help (entry);
            client->help_shown = true;
            return -1;
        }
        else
        if (opt == 'v')
            client->verbose++;
        else
        if (opt == CMD_OPT_JSON)
            client->json = true;
        else
        if (opt == CMD_OPT_BROKER)
            client->broker = optarg;
        else
        if (opt == CMD_OPT_CERT)
            client->cert = optarg;
        else
        if (opt == CMD_OPT_BROKER_KEY)
            client->broker_key = optarg;
        else
        if (opt == CMD_OPT_TIMEOUT)
            rc = cmd_parse_real ("--timeout", optarg, 0.001, CMD_MAX_TIMEOUT,
                                 &client->timeout_s, cause);
        else
            rc = handle ? handle (opt, optarg, handle_arg, cause)
                        : mt_fail (cause, "%s: unknown option '%s'", entry->name, flag);
        if (rc) {
            //  A bad value is as much a usage error as an unknown option
            client->usage_error = true;
            s_json_later (client, argc, argv, optind);
            return -1;
        }
    }
    for (int i = optind; i < argc; i++)
        if (s_operand (client, entry, argv [i], operands, max_operands, n_operands, cause))
            return -1;
    s_apply_verbosity (client);
    return 0;
}

int
cmd_fail (client_t *client, conn_t *conn, const char *cause)
{
    if (client->help_shown)
        return CMD_EXIT_OK;
    const char *message = cause ? cause : "failed (no reason given)";
    int exit_code = CMD_EXIT_ERROR;
    const char *code = conn && conn_wrong_socket (conn) ? CMD_ERR_WRONG_SOCKET
                     : conn && conn_error_code (conn) ? conn_error_code (conn) : CMD_ERR_FAILED;
    if (client->usage_error)
        exit_code = CMD_EXIT_USAGE, code = CMD_ERR_USAGE;
    else
    if (conn && conn_timed_out (conn))
        exit_code = CMD_EXIT_NO_BROKER, code = CMD_ERR_NO_BROKER;
    else
    if (strcmp (code, MT_ERR_FORBIDDEN) == 0)
        exit_code = CMD_EXIT_FORBIDDEN;
    if (client->error)
        code = client->error;
    if (!client->json) {
        fprintf (stderr, "mtclient: %s\n", message);
        return exit_code;
    }
    json_t *error = json_pack ("{s{ssss}}", "error", "code", code, "message", message);
    if (!error || cmd_print_json_line (error))
        fprintf (stderr, "mtclient: %s\n", message);    // out of memory: the words at least
    json_decref (error);
    return exit_code;
}

int
cmd_usage_fail (client_t *client, char **cause_p)
{
    client->usage_error = true;
    int code = cmd_fail (client, NULL, *cause_p);
    free (*cause_p);
    *cause_p = NULL;
    return code;
}

int
cmd_parse_reconnect (client_t *client, const char *arg, char **cause)
{
    return cmd_parse_real ("--reconnect", arg, 0, CMD_MAX_TIMEOUT, &client->reconnect_s, cause);
}

conn_t *
cmd_connect (client_t *client, int *code)
{
    char *cause = NULL;
    conn_t *conn = NULL;
    if (!client->cert != !client->broker_key)
        mt_fail (&cause, "CurveZMQ needs both --cert FILE (this client's NAME_secret) and "
                 "--broker-key FILE (the broker's public cert), or MT_CERT and MT_BROKER_KEY");
    else
    if (mt_endpoint_check ("--broker (or MT_BROKER)", client->broker, false, &cause) == 0)
        conn = conn_new_curve (client->broker, (int) ceil (client->timeout_s * 1000),
                               client->cert, client->broker_key, &cause);
    //  A --broker, --cert or --broker-key that cannot be used is a bad value
    //  of an option: a usage error, like every other one (s_global_help)
    if (!conn) {
        client->usage_error = true;
        *code = cmd_fail (client, NULL, cause);
    }
    free (cause);
    return conn;
}

int
cmd_terminal_width (void)
{
    struct winsize ws;
    int64_t columns = 0;
    if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        columns = ws.ws_col;
    else
    if (mt_parse_int ("COLUMNS", getenv ("COLUMNS"), 1, 10000, &columns, NULL))
        columns = CMD_DEFAULT_COLUMNS;
    return columns > 1 ? (int) columns - 1 : 1;
}

bool
cmd_special_file (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && !S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode);
}

int
cmd_require_column (const dataset_columns_t *columns, const char *path, const char *flag,
                    const char *name, char **cause)
{
    for (size_t i = 0; name && i < columns->count; i++)
        if (strcmp (columns->names [i], name) == 0)
            return 0;
    char *list = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&list, &size);
    if (!out)
        return mt_fail (cause, "out of memory");
    for (size_t i = 0; i < columns->count && i < CMD_COLUMNS_SHOWN; i++)
        fprintf (out, "%s%s", i ? ", " : "", columns->names [i]);
    if (columns->count > CMD_COLUMNS_SHOWN)
        fprintf (out, ", ... (%zu in all)", columns->count);
    fclose (out);
    const char *base = strrchr (path, '/');
    mt_fail (cause, "%s: no column '%s' in %s; its columns are: %s", flag, name,
             base ? base + 1 : path, list ? list : "?");
    free (list);
    return -1;
}

enum { S_OPT_MODEL = CMD_OPT_LOCAL, S_OPT_DATA, S_OPT_OUT };

typedef struct {
    const char *name;           // the command's, for the message
    cmd_files_t *files;
} s_files_arg_t;

static int
s_files_option (int opt, const char *arg, void *files_p, char **cause)
{
    s_files_arg_t *self = files_p;
    if (*arg == 0)
        return mt_fail (cause, "%s: an option's file name is empty", self->name);
    const char **field = opt == S_OPT_MODEL ? &self->files->model
                       : opt == S_OPT_DATA ? &self->files->data : &self->files->out;
    *field = arg;
    return 0;
}

//  An offline command's argv: --model FILE and --data FILE, both needed,
//  and --out FILE when with_out. Returns 0, or -1 with *cause (a usage error)
static int
s_parse_files (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
               bool with_out, const char *usage, cmd_files_t *files, char **cause)
{
    *files = (cmd_files_t) { NULL, NULL, NULL };
    s_files_arg_t arg = { entry->name, files };
    //  --out first, so that a command without it starts the table one on
    const struct option longs [] = {
        { "out", required_argument, NULL, S_OPT_OUT },
        { "model", required_argument, NULL, S_OPT_MODEL },
        { "data", required_argument, NULL, S_OPT_DATA },
        CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
    char *operands [1];
    int n = 0;
    if (cmd_parse (client, entry, argc, argv, "", longs + (with_out ? 0 : 1), s_files_option,
                   &arg, operands, 0, &n, cause))
        return -1;
    if (!files->model || !files->data) {
        client->usage_error = true;
        return mt_fail (cause, "%s: give --model FILE and --data FILE (usage: mtclient %s %s)",
                        entry->name, entry->name, usage);
    }
    return 0;
}

//  The model loaded, once --out can be written and the data file has the
//  columns the model reads (and its target, with_target); NULL with *cause
static model_t *
s_load_model (const cmd_files_t *files, bool with_target, char **cause)
{
    const char *data_path = files->data;
    char *why = NULL;
    if (files->out && mt_output_check (files->out, &why)) {
        mt_fail (cause, "--out: %s", why);
        free (why);
        return NULL;
    }
    model_t *model = model_load (files->model, &why);
    if (!model) {
        mt_fail (cause, "--model: %s", why);
        free (why);
        return NULL;
    }
    //  A pipe is read once, by the command: its columns are checked there
    if (cmd_special_file (data_path))
        return model;
    dataset_columns_t *columns = dataset_columns (data_path, MT_FORMAT_AUTO, &why);
    int rc = columns ? 0 : mt_fail (cause, "--data: %s", why);
    //  The raw columns the plan reads, by name (not the encoded inputs)
    const encode_t *plan = model_plan (model);
    for (int i = 0; rc == 0 && i < encode_columns (plan); i++)
        rc = cmd_require_column (columns, data_path, "--data", encode_column_name (plan, i),
                                 cause);
    if (rc == 0 && with_target
    &&  cmd_require_column (columns, data_path, "--data: the model's target",
                            model_target (model), cause))
        rc = -1;
    if (rc)
        model_destroy (&model);
    dataset_columns_destroy (&columns);
    free (why);
    return model;
}

int
cmd_offline_exec (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                  const cmd_offline_t *offline)
{
    cmd_files_t files;
    char *cause = NULL;
    model_t *model = NULL;
    int code = CMD_EXIT_OK;
    if (s_parse_files (client, entry, argc, argv, offline->with_out, offline->usage, &files,
                       &cause))
        goto fail;
    model = s_load_model (&files, offline->with_target, &cause);
    if (!model) {
        client->usage_error = true;
        goto fail;
    }
    if (offline->run (&files, model, client->json, &cause))
        goto fail;
    goto done;
fail:
    code = cmd_fail (client, NULL, cause);
done:
    model_destroy (&model);
    free (cause);
    return code;
}

char *
cmd_json_text (json_t *value, bool indent)
{
    return json_dumps (value, (indent ? JSON_INDENT (2) : JSON_COMPACT) | JSON_PRESERVE_ORDER
                              | JSON_ENCODE_ANY | JSON_REAL_PRECISION (17));
}

int
cmd_print_json_line (json_t *value)
{
    char *text = cmd_json_text (value, false);
    if (!text)
        return -1;
    puts (text);
    fflush (stdout);
    free (text);
    return 0;
}

int
cmd_print_json (json_t *value)
{
    char *text = cmd_json_text (value, true);
    if (!text)
        return -1;
    puts (text);
    free (text);
    return 0;
}

json_t *
cmd_request (conn_t *conn, mt_msg_t **request_p, const char *reply_command, const char *field,
             json_type type, char **cause)
{
    mt_msg_t *reply = NULL;
    if (conn_call (conn, request_p, reply_command, &reply, cause))
        return NULL;
    json_t *value = json_object_get (mt_msg_body (reply), field);
    if (value && json_typeof (value) == type)
        json_incref (value);
    else {
        mt_fail (cause, "the broker's %s reply has no '%s'; are mtclient and mtbroker the same"
                 " version?", reply_command, field);
        value = NULL;
    }
    mt_msg_destroy (&reply);
    return value;
}

json_t *
cmd_job_status (conn_t *conn, int64_t job, char **cause)
{
    mt_msg_t *request = mt_msg_new ("STATUS");
    json_object_set_new (mt_msg_body (request), "job", json_integer (job));
    return cmd_request (conn, &request, "JOB", "job", JSON_OBJECT, cause);
}

int
cmd_prefix_cause (char **cause, const char *fmt, ...)
{
    char *context = NULL;
    va_list args;
    va_start (args, fmt);
    int rc = vasprintf (&context, fmt, args);
    va_end (args);
    if (rc < 0)
        return -1;              // out of memory: *cause stays as it was
    char *why = *cause;
    *cause = NULL;
    mt_fail (cause, "%s: %s", context, why);
    free (why);
    free (context);
    return -1;
}

int
cmd_show_exec (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
               const cmd_show_t *show)
{
    char *operands [1];
    int n = 0;
    char *cause = NULL;
    conn_t *conn = NULL;
    mt_msg_t *reply = NULL;
    int code = CMD_EXIT_OK;
    if (cmd_parse_plain (client, entry, argc, argv, operands, 0, &n, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    mt_msg_t *request = mt_msg_new (show->command);
    if (conn_call (conn, &request, show->reply, &reply, &cause))
        goto fail;
    json_t *body = mt_msg_body (reply);
    json_t *value = json_object_get (body, show->field);
    if (!value || json_typeof (value) != show->type) {
        mt_fail (&cause, "the broker's %s reply has no '%s'; are mtclient and mtbroker the same"
                 " version?", show->reply, show->field);
        goto fail;
    }
    if (show->whole) {
        json_object_del (body, "req");
        value = body;
    }
    if (client->json)
        cmd_print_json (value);
    else
        show->print (value);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    mt_msg_destroy (&reply);
    free (cause);
    conn_destroy (&conn);
    return code;
}

int
cmd_job_exec (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
              const char *command, cmd_job_print_fn *print)
{
    char *cause = NULL;
    conn_t *conn = NULL;
    mt_msg_t *reply = NULL;
    int64_t id = 0;
    int code = CMD_EXIT_OK;
    if (cmd_parse_job_command (client, entry, argc, argv, &id, &cause))
        goto fail;
    conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    mt_msg_t *request = mt_msg_new (command);
    json_object_set_new (mt_msg_body (request), "job", json_integer (id));
    if (conn_call (conn, &request, "JOB", &reply, &cause)) {
        cmd_prefix_cause (&cause, "cannot %s job %lld", entry->name, (long long) id);
        goto fail;
    }
    json_t *job = json_object_get (mt_msg_body (reply), "job");
    if (client->json)
        cmd_print_json (job);
    else
        print (id, job);
    goto done;
fail:
    code = cmd_fail (client, conn, cause);
done:
    mt_msg_destroy (&reply);
    free (cause);
    conn_destroy (&conn);
    return code;
}

//  Take one global option at argv [*index] before the command. Returns 0
//  (moving *index past its value), or -1 with *cause.
static int
s_global_main (client_t *client, int argc, char **argv, int *index, char **cause)
{
    const char *arg = argv [*index];
    const char *names [] = { "--broker", "--timeout", "--cert", "--broker-key" };
    for (int i = 0; i < 4; i++) {
        size_t len = strlen (names [i]);
        if (strncmp (arg, names [i], len) || (arg [len] && arg [len] != '='))
            continue;
        const char *value = arg [len] == '=' ? arg + len + 1 : NULL;
        if (!value && *index + 1 < argc)
            value = argv [++*index];
        if (!value) {
            client->usage_error = true;
            return mt_fail (cause, "option %s needs a value", names [i]);
        }
        if (i == 0 || i >= 2) {
            const char **field [] = { &client->broker, NULL, &client->cert, &client->broker_key };
            *field [i] = value;
            return 0;
        }
        if (cmd_parse_real ("--timeout", value, 0.001, CMD_MAX_TIMEOUT, &client->timeout_s,
                            cause)) {
            client->usage_error = true;
            return -1;
        }
        return 0;
    }
    if (strcmp (arg, "--json") == 0)
        client->json = true;
    else
    if (strcmp (arg, "-v") == 0 || strcmp (arg, "--verbose") == 0)
        client->verbose++;
    else
    if (strncmp (arg, "-vv", 3) == 0 && strspn (arg + 1, "v") == strlen (arg + 1))
        client->verbose += (int) strlen (arg + 1);
    else {
        client->usage_error = true;
        return mt_fail (cause, "unknown option '%s' (see mtclient --help)", arg);
    }
    return 0;
}

int
cmd_main (int argc, char **argv)
{
    setlocale (LC_CTYPE, "");
    mt_log_set_ident ("mtclient");
    //  Keep the default SIGINT: Ctrl-C ends mtclient at once (czmq would
    //  otherwise swallow it)
    zsys_handler_set (NULL);
    client_t client;
    cmd_client_init (&client);
    char *cause = NULL;
    int index = 1;
    for (; index < argc && argv [index][0] == '-' && argv [index][1]; index++) {
        const char *arg = argv [index];
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            cmd_usage (false);
            return CMD_EXIT_OK;
        }
        if (strcmp (arg, "--version") == 0) {
            printf ("mtclient %s (protocol %s)\n", MT_VERSION, MT_PROTOCOL);
            return CMD_EXIT_OK;
        }
        if (s_global_main (&client, argc, argv, &index, &cause)) {
            s_json_later (&client, argc, argv, index + 1);
            int code = cmd_fail (&client, NULL, cause);
            free (cause);
            return code;
        }
    }
    s_apply_verbosity (&client);
    if (index >= argc)
        return s_main_usage (&client, "give a command");
    const char *name = argv [index];
    bool json = client.json;
    s_json_later (&client, argc, argv, index + 1);     // for the errors found here
    if (strcmp (name, "help") == 0) {
        const cmd_entry_t *entry = index + 1 < argc ? cmd_find (argv [index + 1]) : NULL;
        if (index + 1 < argc && !entry) {
            mt_fail (&cause, "help: unknown command '%s'", argv [index + 1]);
            int code = s_main_usage (&client, cause);
            free (cause);
            return code;
        }
        if (entry)
            cmd_help (entry);
        else
            cmd_usage (false);
        return CMD_EXIT_OK;
    }
    const cmd_entry_t *entry = cmd_find (name);
    if (!entry) {
        mt_fail (&cause, "unknown command '%s'", name);
        int code = s_main_usage (&client, cause);
        free (cause);
        return code;
    }
    client.json = json;         // the command reads its own arguments, --json among them
    return entry->exec (&client, argc - index, argv + index);
}

int
cmd_parse_plain (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                 char **operands, int max_operands, int *n_operands, char **cause)
{
    return cmd_parse (client, entry, argc, argv, "", (struct option []) {
                          CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                      NULL, NULL, operands, max_operands, n_operands, cause);
}

int
cmd_parse_job_command (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                       int64_t *job, char **cause)
{
    char *operands [1];
    int n = 0;
    if (cmd_parse_plain (client, entry, argc, argv, operands, 1, &n, cause))
        return -1;
    if (n != 1) {
        client->usage_error = true;
        return mt_fail (cause, "%s: give a job id (usage: mtclient %s JOB)", entry->name,
                        entry->name);
    }
    if (cmd_parse_job (operands [0], job, cause)) {
        client->usage_error = true;
        return -1;
    }
    return 0;
}
