/*  cmd_watch - `mtclient watch JOB`: follow a job's progress until it ends  */
#include "cmd.h"
#include "mt/util.h"
#include "render.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define WATCH_POLL_MS   500     // between STATUS requests
#define WATCH_BAR       24      // characters in the progress bar

//  What was shown last, to print only changes.
typedef struct {
    char state [16];
    int64_t attempt;
    int64_t epoch;
    bool live;                  // a \r line is on the screen
} s_watch_t;

static int s_exec (client_t *client, int argc, char **argv);
static bool s_ended (const char *state);
static void s_end_line (s_watch_t *watch);
static void s_show (client_t *client, s_watch_t *watch, int64_t id, json_t *job);
static void s_live (const char *line);
static int s_finish (client_t *client, s_watch_t *watch, int64_t id, json_t *job);

const cmd_entry_t cmd_watch_entry = {
    .name = "watch",
    .usage = "JOB",
    .summary = "follow a job's progress until it ends; exit 0 only if it succeeded",
    .help = "  --json    print nothing while it runs, then the final job map\n",
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

//  Redraw line in place, cut to the terminal's width so it never wraps.
static void
s_live (const char *line)
{
    struct winsize ws;
    size_t columns = ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1
                   ? ws.ws_col - 1 : 79;
    size_t bytes = 0, shown = 0;
    while (line [bytes] && shown < columns) {
        bytes++;
        while ((line [bytes] & 0xc0) == 0x80)
            bytes++;            // the rest of a UTF-8 sequence
        shown++;
    }
    printf ("\r%.*s\033[K", (int) bytes, line);
    fflush (stdout);
}

static void
s_show (client_t *client, s_watch_t *watch, int64_t id, json_t *job)
{
    const char *state = json_string_value (json_object_get (job, "state"));
    int64_t attempt = json_integer_value (json_object_get (job, "attempt"));
    int64_t epoch = json_integer_value (json_object_get (json_object_get (job, "progress"), "epoch"));
    if (!state || client->json)
        return;
    if (strcmp (state, watch->state) || attempt != watch->attempt) {
        s_end_line (watch);
        const char *worker = json_string_value (json_object_get (job, "worker"));
        printf ("job %lld: %s (attempt %lld%s%s)\n", (long long) id, state, (long long) attempt,
                worker && *worker ? ", worker " : "", worker && *worker ? worker : "");
        fflush (stdout);
        snprintf (watch->state, sizeof watch->state, "%s", state);
        watch->attempt = attempt;
    }
    if (strcmp (state, "running") && strcmp (state, "stopping"))
        return;
    char *line = render_progress (job, WATCH_BAR, client->utf8);
    if (!line)
        return;
    if (client->tty) {
        s_live (line);
        watch->live = true;
    }
    else
    if (epoch != watch->epoch) {
        printf ("%s\n", line);
        fflush (stdout);
    }
    watch->epoch = epoch;
    free (line);
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
    s_watch_t watch = { "", -1, -1, false };
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
    conn_t *conn = cmd_connect (client);
    if (!conn)
        return CMD_EXIT_ERROR;
    int code = cmd_watch_job (client, conn, id);
    conn_destroy (&conn);
    return code;
}
