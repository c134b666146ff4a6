/*  testjobs - a jobs table on a fresh store in a temp folder, and the jobs the tests submit to it  */
#ifndef MT_TESTJOBS_H_INCLUDED
#define MT_TESTJOBS_H_INCLUDED

#include "testutil.h"
#include "jobs.h"
#include "store.h"
#include "mt/spec.h"

#include <stdbool.h>
#include <stdint.h>

//  Make the folder dir (a mkdtemp template, filled in) and open a store in
//  it and the jobs table on that store; a failure fails the test.
static inline void
test_jobs_open (char *dir, store_t **store_p, jobs_t **jobs_p)
{
    CHECK (mkdtemp (dir));
    char *cause = NULL;
    *store_p = store_open (test_path (dir, "mt.db"), &cause);
    CHECK_MSG (*store_p, "%s", cause);
    *jobs_p = jobs_new (*store_p, &cause);
    CHECK_MSG (*jobs_p, "%s", cause);
}

//  Destroy the jobs table and the store, and remove their folder.
static inline void
test_jobs_close (char *dir, store_t **store_p, jobs_t **jobs_p)
{
    jobs_destroy (jobs_p);
    store_destroy (store_p);
    test_remove_dir (dir);
}

//  Submit a new job of alice's (target y of /data.csv, max_retries) at
//  1000 ms; its id.
static inline int64_t
test_jobs_submit (jobs_t *jobs, int max_retries)
{
    mt_spec_t spec;
    mt_spec_init (&spec);
    spec.target = strdup ("y");
    spec.data_path = strdup ("/data.csv");
    spec.max_retries = max_retries;
    bool existing, conflict;
    int64_t id = jobs_submit (jobs, &spec, NULL, NULL, "alice", 1000, &existing, &conflict);
    CHECK (id > 0 && !existing && !conflict);
    mt_spec_clear (&spec);
    return id;
}

#endif
