/*  cmd_resume - `mtclient resume JOB`: a failed or stopped job runs again from its last checkpoint  */
#include "cmd.h"

#include <stdio.h>

static int s_exec (client_t *client, int argc, char **argv);
static void s_print (int64_t id, json_t *job);

const cmd_entry_t cmd_resume_entry = {
    .name = "resume",
    .usage = "JOB",
    .summary = "continue a failed or stopped job from its last checkpoint, as its next attempt",
    .help = "  --json    print the job map after the change\n",
    .exec = s_exec,
};

static int
s_exec (client_t *client, int argc, char **argv)
{
    return cmd_job_exec (client, &cmd_resume_entry, argc, argv, "RESUME", s_print);
}

static void
s_print (int64_t id, json_t *job)
{
    const char *state = json_string_value (json_object_get (job, "state"));
    printf ("job %lld: %s (attempt %lld will resume from epoch %lld)\n", (long long) id,
            state ? state : "?",
            (long long) json_integer_value (json_object_get (job, "attempt")) + 1,
            (long long) json_integer_value (json_object_get (job, "checkpoint_epoch")));
}
