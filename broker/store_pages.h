/*  store_pages - the store's many-jobs queries: paged listing, resume, delete, pruning and thinning  */
//  The rest of the store module (store.h), on the same database; its
//  statements are prepared here. Only the store's files include this.
#ifndef MT_STORE_PAGES_H_INCLUDED
#define MT_STORE_PAGES_H_INCLUDED

#include "store.h"

#define STORE_PAGE_MAX_BYTES    (1 << 20)   // a LIST page's jobs, encoded, at most (of MT_MAX_BODY 4 MiB)
#define STORE_PROGRESS_MAX_ROWS 2000        // progress rows kept per attempt (thinned past it)

//  What one page of jobs asks for.
typedef struct {
    int state;                  // a job_state_t, or -1 for all
    const char *name;           // only jobs of this name; NULL for all
    int64_t sweep;              // only trials of this sweep; 0 for all
    int64_t before;             // only ids below this; 0 = from the newest
    int limit;                  // jobs at most
    size_t max_bytes;           // the page's jobs as compact JSON, at most (one job always fits)
} store_page_t;

//  Called once the schema is current: the indexes the filters use. 0 or -1.
int store_pages_open (store_t *self);

//  One page of jobs newest first, each as store_job_json makes it (without
//  history), filtered in SQL. *next gets the id to pass as `before` for the
//  next page, or 0 when this page reaches the last job. A new JSON array
//  (caller decrefs), or NULL when the database failed.
json_t *store_job_page (store_t *self, const store_page_t *page, int64_t *next);

//  failed or stopped -> queued again, keeping its checkpoint: the next start
//  is attempt + 1 and resumes from checkpoint_epoch. Returns 0, 1 when the
//  job is in another state (nothing changed), or -1 when the database failed.
int store_job_resume (store_t *self, int64_t id);

//  Delete an ended job: its row, its attempts and its progress. The blobs
//  it named (data, init, val_data, model, checkpoint) that no other job
//  names now go into doomed (a JSON array of hash strings, appended to) for
//  the caller to remove once this commits. Returns 0, 1 when the job has
//  not ended (nothing changed), or -1 when the database failed.
int store_job_delete (store_t *self, int64_t id, json_t *doomed);

//  Retention, at most limit jobs per call: of jobs that ended before
//  before_ms, drop the progress history and the checkpoint (appended to
//  doomed when nothing else names it). Returns the jobs pruned, or -1.
int store_prune (store_t *self, int64_t before_ms, int limit, json_t *doomed);

//  Every blob hash a job or a sweep's base spec names (what store_blob_in_use
//  asks of one hash), as the keys of a new JSON object (caller decrefs), or
//  NULL when the database failed.
json_t *store_blobs_named (store_t *self);

//  Keep attempt's history of job id within STORE_PROGRESS_MAX_ROWS rows:
//  over it, every other row of the older half is dropped (the first and the
//  newest kept, and rows with an epoch's metrics while dropping the others
//  is enough; past that those are thinned too), so the curve keeps its
//  shape at a coarser grain. Returns the rows dropped, or -1.
int store_progress_thin (store_t *self, int64_t id, int attempt);

//  For this file only: store.c's handle and its write step (the fault
//  seam, the write count, and a failed write failing the transaction).
struct sqlite3;
struct sqlite3 *store_db (store_t *self);
int store_write_step (store_t *self, void *stmt, const char *what);

#endif
