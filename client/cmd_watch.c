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
} s_watch_t;

static int s_exec (client_t *client, int argc, char **argv);
static bool s_ended (const char *state);
static void s_end_line (s_watch_t *watch);
static void s_show (client_t *client, s_watch_t *watch, int64_t id, json_t *job);
static void s_show_progress (client_t *client, s_watch_t *watch, json_t *job);
static void s_live (const char *line);
static int s_finish (client_t *client, s_watch_t *watch, int64_t id, json_t *job);

const cmd_entry_t cmd_watch_entry = {
    .name = "watch",
    .usage = "JOB",
    .summary = "follow a job's progress until it ends; exit 0 only if it succeeded",
    .help = "  --json    print nothing while it runs, then the final job map\n"
            "On a terminal it redraws one progress line fit to its width; otherwise it\n"
            "prints a plain line when the progress changes, at most one a second.\n",
    .exec = s_exec,
};

static bool
s_ended (const char *state)
{
    return strcmp (state, "succeeded") == 0 || strcmp (state, "failed") == 0
        || strcmp (state, "stopped") == 0;
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
    if (!state || client->json || (first && s_ended (state)))
        return;
    if (strcmp (state, watch->state) || attempt != watch->attempt) {
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

static int
s_finish (client_t *client, s_watch_t *watch, int64_t id, json_t *job)
{
    const char *state = json_string_value (json_object_get (job, "state"));
    const char *error = json_string_value (json_object_get (job, "error"));
    s_end_line (watch);
    if (client->json)
        cmd_print_json (job);
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
    if (strcmp (state, "failed") == 0)
        fprintf (stderr, "mtclient: job %lld failed: %s\n", (long long) id,
                 error && *error ? error : "no reason given; see mtclient status");
    else
        fprintf (stderr, "mtclient: job %lld was stopped%s%s\n", (long long) id,
                 error && *error ? ": " : "", error && *error ? error : "");
    return CMD_EXIT_ERROR;
}

int
cmd_watch_job (client_t *client, conn_t *conn, int64_t id)
{
    s_watch_t watch = { .state = "", .attempt = -1, .step = -1 };
    while (true) {
        char *cause = NULL;
        json_t *job = cmd_job_status (conn, id, &cause);
        if (!job) {
            s_end_line (&watch);
            int code = cmd_fail (client, conn, cause);
            free (cause);
            return code;
        }
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
s_exec (client_t *client, int argc, char **argv)
{
    char *cause = NULL;
    int64_t id;
    if (cmd_parse_job_command (client, &cmd_watch_entry, argc, argv, &id, &cause)) {
        int code = cmd_fail (client, NULL, cause);
        free (cause);
        return code;
    }
    int code = CMD_EXIT_OK;
    conn_t *conn = cmd_connect (client, &code);
    if (!conn)
        return code;
    code = cmd_watch_job (client, conn, id);
    conn_destroy (&conn);
    return code;
}
