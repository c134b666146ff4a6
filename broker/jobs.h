/*  jobs - the job's life: its states, the events that move it, and what each move writes and tells  */
#ifndef MT_JOBS_H_INCLUDED
#define MT_JOBS_H_INCLUDED

#include <stdbool.h>

//  A job's state. The names are those of the wire and the database.
typedef enum {
    JOB_QUEUED,                 // waiting for a worker (attempt 0, or requeued)
    JOB_RUNNING,                // an attempt runs on a worker
    JOB_STOPPING,               // a stop is on its way to the worker
    JOB_SUCCEEDED,              // ended with a model
    JOB_FAILED,                 // ended without one
    JOB_STOPPED,                // ended by request
    JOB_STATES                  // (the count)
} job_state_t;

//  The state's name ("queued", ...). Never NULL: "?" for a value out of range.
const char *job_state_name (job_state_t state);

//  The state named name. Returns 0, or -1 when no state has that name.
int job_state_parse (const char *name, job_state_t *state);

//  True for the states a job never leaves.
bool job_state_ended (job_state_t state);

#endif
