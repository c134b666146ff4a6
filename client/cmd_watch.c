/*  cmd_watch - `mtclient watch JOB`: follow a job's progress until it ends  */
#include "cmd.h"
#include "mt/util.h"
#include "render.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_POLL_MS   500     // between STATUS requests
#define WATCH_PLAIN_MS  1000    // between progress lines when stdout is not a terminal

//  What was shown last, to print only changes.
typedef struct {
    char state [16];
    int64_t attempt;
    double step;                // progress step shown last, -1 for none
    int64_t shown_ms;           // monotonic time of the last plain progress line
    int reports;                // STATUS replies seen
    bool live;                  // a \r line is on the screen
    int64_t answered_ms;        // monotonic time of the broker's last answer
    bool reconnecting;          // the broker stopped answering; said so on stderr
} s_watch_t;

enum { O_RECONNECT = CMD_OPT_LOCAL };

static int s_exec (client_t *client, int argc, char **argv);
static bool s_ended (const char *state);
static void s_end_line (s_watch_t *watch);
static void s_show (client_t *client, s_watch_t *watch, int64_t id, json_t *job);
static void s_show_progress (client_t *client, s_watch_t *watch, json_t *job);
static void s_live (const char *line);
static void s_show_json (client_t *client, s_watch_t *watch, json_t *job, bool changed);
static int s_finish (client_t *client, s_watch_t *watch, int64_t id, json_t *job);
static bool s_reconnect (client_t *client, s_watch_t *watch, conn_t *conn, int64_t id);
static int s_option (int opt, const char *arg, void *client_p, char **cause);

const cmd_entry_t cmd_watch_entry = {
    .name = "watch",
    .usage = "JOB [--reconnect S]",
    .summary = "follow a job's progress until it ends; exit 0 only if it succeeded",
    .help = "  --reconnect S  when the broker stops answering (a restart), keep asking for\n"
            "                 up to S seconds, saying so on stderr (default 60; 0: give up\n"
            "                 after --timeout)\n"
            "  --json         NDJSON: one job map a line (without its history) when its\n"
            "                 state or attempt changes and as it progresses, at most one\n"
            "                 a second; the last line the final job map, or an error\n"
            "On a terminal it redraws one progress line fit to its width; otherwise it\n"
            "prints a plain line when the progress changes, at most one a second.\n",
    .exec = s_exec,
};

static bool
s_ended (const char *state)
{
    return strcmp (state, "succeeded") == 0 || strcmp (state, "failed") == 0
        || strcmp (state, "stopped") == 0 || strcmp (state, "pruned") == 0;
}

static void
s_end_line (s_watch_t *watch)
{
    if (watch->live) {
        fputc ('\n', stdout);
        fflush (stdout);
    }
    watch->live = false;
}

//  Redraw line in place (render_progress_fit made it fit the width).
static void
s_live (const char *line)
{
    printf ("\r%s\033[K", line);
    fflush (stdout);
}

static void
s_show (client_t *client, s_watch_t *watch, int64_t id, json_t *job)
{
    const char *state = json_string_value (json_object_get (job, "state"));
    int64_t attempt = json_integer_value (json_object_get (job, "attempt"));
    bool first = watch->reports++ == 0;
    //  A job over at the first look gets its final line only (s_finish)
    if (!state || (first && s_ended (state)))
        return;
    bool changed = strcmp (state, watch->state) || attempt != watch->attempt;
    if (client->json) {
        if (!s_ended (state))
            s_show_json (client, watch, job, changed);
        snprintf (watch->state, sizeof watch->state, "%s", state);
        watch->attempt = attempt;
        return;
    }
    if (changed) {
        s_end_line (watch);
        const char *worker = json_string_value (json_object_get (job, "worker"));
        printf ("job %lld: %s (attempt %lld%s%s)\n", (long long) id, state, (long long) attempt,
                worker && *worker ? ", worker " : "", worker && *worker ? worker : "");
        fflush (stdout);
        snprintf (watch->state, sizeof watch->state, "%s", state);
        watch->attempt = attempt;
        watch->step = -1;
    }
    if (strcmp (state, "running") == 0 || strcmp (state, "stopping") == 0)
        s_show_progress (client, watch, job);
}

//  On a terminal, redraw the bar; elsewhere (a log, a pipe) print a plain
//  line, without a bar, only once the worker has reported and when the step
//  moved, at most one a WATCH_PLAIN_MS.
static void
s_show_progress (client_t *client, s_watch_t *watch, json_t *job)
{
    json_t *progress = json_object_get (job, "progress");
    json_t *step = json_object_get (progress, "step");
    if (client->tty) {
        char *line = render_progress_fit (job, cmd_terminal_width (), client->utf8);
        if (line) {
            s_live (line);
            watch->live = true;
        }
        free (line);
        return;
    }
    int64_t now = mt_mono_ms ();
    if (!json_is_number (step) || json_number_value (step) == watch->step
    ||  (watch->shown_ms && now - watch->shown_ms < WATCH_PLAIN_MS))
        return;
    char *line = render_progress (job, 0, client->utf8);
    if (line) {
        printf ("%s\n", line);
        fflush (stdout);
    }
    free (line);
    watch->step = json_number_value (step);
    watch->shown_ms = now;
}

//  --json: the job map as one line, without its history, when its state or
//  attempt changed, or its step moved (at most one a WATCH_PLAIN_MS).
static void
s_show_json (client_t *client, s_watch_t *watch, json_t *job, bool changed)
{
    json_t *step = json_object_get (json_object_get (job, "progress"), "step");
    int64_t now = mt_mono_ms ();
    bool moved = json_is_number (step) && json_number_value (step) != watch->step
              && (!watch->shown_ms || now - watch->shown_ms >= WATCH_PLAIN_MS);
    if (!changed && !moved)
        return;
    json_t *line = json_copy (job);
    if (line) {
        json_object_del (line, "history");
        cmd_print_json_line (line);
    }
    json_decref (line);
    watch->step = json_is_number (step) ? json_number_value (step) : -1;
    watch->shown_ms = now;
}

static int
s_finish (client_t *client, s_watch_t *watch, int64_t id, json_t *job)
{
    const char *state = json_string_value (json_object_get (job, "state"));
    const char *error = json_string_value (json_object_get (job, "error"));
    s_end_line (watch);
    if (client->json)
        cmd_print_json_line (job);
    if (strcmp (state, "succeeded") == 0) {
        if (!client->json) {
            json_t *started = json_object_get (job, "started_at");
            json_t *finished = json_object_get (job, "finished_at");
            char took [32];
            render_duration (json_is_integer (started) && json_is_integer (finished)
                             ? (json_integer_value (finished) - json_integer_value (started)) / 1000.0
                             : -1, took, sizeof took);
            printf ("job %lld succeeded in %s: ", (long long) id, took);
            render_metrics (stdout, json_object_get (job, "metrics"));
            printf ("\n");
        }
        return CMD_EXIT_OK;
    }
    char *cause = NULL;
    bool failed = strcmp (state, "failed") == 0;
    if (failed)
        mt_fail (&cause, "job %lld failed: %s", (long long) id,
                 error && *error ? error : "no reason given; see mtclient status");
    else
        mt_fail (&cause, "job %lld was stopped%s%s", (long long) id,
                 error && *error ? ": " : "", error && *error ? error : "");
    client->error = failed ? CMD_ERR_JOB_FAILED : CMD_ERR_JOB_STOPPED;
    int code = cmd_fail (client, NULL, cause);
    free (cause);
    return code;
}

//  The broker did not answer: keep asking while it has been quiet for less
//  than --reconnect (once it answered at all), saying so on stderr once.
//  False when it is time to give up, with the cause in conn's last failure.
static bool
s_reconnect (client_t *client, s_watch_t *watch, conn_t *conn, int64_t id)
{
    double quiet_s = (mt_mono_ms () - watch->answered_ms) / 1000.0;
    if (!conn_timed_out (conn) || watch->reports == 0 || quiet_s >= client->reconnect_s)
        return false;
    if (!watch->reconnecting) {
        s_end_line (watch);
        fprintf (stderr, "mtclient: no answer from the broker at %s; reconnecting to follow "
                 "job %lld, for up to %g s (--reconnect)\n", conn_endpoint (conn),
                 (long long) id, client->reconnect_s);
        watch->reconnecting = true;
    }
    return true;
}

int
cmd_watch_job (client_t *client, conn_t *conn, int64_t id)
{
    s_watch_t watch = { .state = "", .attempt = -1, .step = -1, .answered_ms = mt_mono_ms () };
    while (true) {
        char *cause = NULL;
        json_t *job = cmd_job_status (conn, id, &cause);
        if (!job && s_reconnect (client, &watch, conn, id)) {
            free (cause);
            zclock_sleep (WATCH_POLL_MS);
            continue;
        }
        if (!job) {
            s_end_line (&watch);
            if (watch.reconnecting) {
                cmd_prefix_cause (&cause, "gave up on the broker at %s after %g s without an"
                                  " answer (--reconnect)", conn_endpoint (conn),
                                  client->reconnect_s);
            }
            int code = cmd_fail (client, conn, cause);
            free (cause);
            return code;
        }
        if (watch.reconnecting)
            fprintf (stderr, "mtclient: the broker at %s answers again; following job %lld\n",
                     conn_endpoint (conn), (long long) id);
        watch.reconnecting = false;
        watch.answered_ms = mt_mono_ms ();
        const char *state = json_string_value (json_object_get (job, "state"));
        s_show (client, &watch, id, job);
        if (state && s_ended (state)) {
            int code = s_finish (client, &watch, id, job);
            json_decref (job);
            return code;
        }
        json_decref (job);
        zclock_sleep (WATCH_POLL_MS);
    }
}

static int
s_option (int opt, const char *arg, void *client_p, char **cause)
{
    return cmd_parse_reconnect (client_p, arg, cause);
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    char *cause = NULL, *operands [1];
    int n = 0;
    int64_t id;
    int rc = cmd_parse (client, &cmd_watch_entry, argc, argv, "", (struct option []) {
                            { "reconnect", required_argument, NULL, O_RECONNECT },
                            CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                        s_option, client, operands, 1, &n, &cause);
    if (rc == 0 && n != 1)
        rc = mt_fail (&cause, "watch: give a job id (usage: mtclient watch JOB [--reconnect S])");
    if (rc == 0)
        rc = cmd_parse_job (operands [0], &id, &cause);
    if (rc)
        return cmd_usage_fail (client, &cause);
    int code = CMD_EXIT_OK;
    conn_t *conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    code = cmd_watch_job (client, conn, id);
    conn_destroy (&conn);
    return code;
}
