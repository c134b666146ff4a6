/*  jobs - the job's life: its states, the events that move it, and what each move writes and tells  */
#include "jobs.h"

#include <string.h>

static const char *s_state_names [JOB_STATES] = {
    [JOB_QUEUED] = "queued", [JOB_RUNNING] = "running", [JOB_STOPPING] = "stopping",
    [JOB_SUCCEEDED] = "succeeded", [JOB_FAILED] = "failed", [JOB_STOPPED] = "stopped"
};

const char *
job_state_name (job_state_t state)
{
    return (unsigned) state < JOB_STATES ? s_state_names [state] : "?";
}

int
job_state_parse (const char *name, job_state_t *state)
{
    for (int s = 0; s < JOB_STATES; s++)
        if (name && strcmp (name, s_state_names [s]) == 0) {
            *state = (job_state_t) s;
            return 0;
        }
    return -1;
}

bool
job_state_ended (job_state_t state)
{
    return state == JOB_SUCCEEDED || state == JOB_FAILED || state == JOB_STOPPED;
}
