/*  cmd_stop - `mtclient stop JOB`: stop a queued or running job  */
#include "cmd.h"

#include <stdio.h>

static int s_exec (client_t *client, int argc, char **argv);
static void s_print (int64_t id, json_t *job);

const cmd_entry_t cmd_stop_entry = {
    .name = "stop",
    .usage = "JOB",
    .summary = "stop a job: a queued one at once, a running one after its checkpoint",
    .help = "  --json    print the job map after the change\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    return cmd_job_exec (client, &cmd_stop_entry, argc, argv, "STOP", s_print);
}

static void
s_print (int64_t id, json_t *job)
{
    const char *state = json_string_value (json_object_get (job, "state"));
    printf ("job %lld: %s\n", (long long) id, state ? state : "?");
}
