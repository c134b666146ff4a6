/*  store_pages - the store's many-jobs queries: paged listing, resume, delete, pruning and thinning  */
//  Statements here are prepared per call (these are not the hot path); a
//  write goes through store_write_step, so the fault seam and the failed
//  transaction work as for store.c's own.
#include "store_pages.h"
#include "mt/log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static sqlite3_stmt *s_prepare (store_t *self, const char *sql);
static int s_write (store_t *self, const char *sql, int64_t a, int64_t b, const char *what);
static void s_doom_unused (store_t *self, const char *hash, json_t *doomed);

//  The filters' indexes: jobs are listed newest first (by id, the rowid,
//  which every index holds), by state or by name.
int
store_pages_open (store_t *self)
{
    char *error = NULL;
    if (sqlite3_exec (store_db (self),
                      "CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);"
                      "CREATE INDEX IF NOT EXISTS jobs_name ON jobs (name);",
                      NULL, NULL, &error) != SQLITE_OK) {
        mt_error ("store: cannot create the list indexes: %s", error ? error : "?");
        sqlite3_free (error);
        return -1;
    }
    return 0;
}

static sqlite3_stmt *
s_prepare (store_t *self, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (store_db (self), sql, -1, &stmt, NULL) != SQLITE_OK) {
        mt_error ("store: cannot prepare '%.60s': %s", sql, sqlite3_errmsg (store_db (self)));
        return NULL;
    }
    return stmt;
}

//  Run a write of up to two integer parameters. 0 or -1.
static int
s_write (store_t *self, const char *sql, int64_t a, int64_t b, const char *what)
{
    sqlite3_stmt *stmt = s_prepare (self, sql);
    if (!stmt) {
        store_abort (self);
        return -1;
    }
    if (sqlite3_bind_parameter_count (stmt) >= 1)
        sqlite3_bind_int64 (stmt, 1, a);
    if (sqlite3_bind_parameter_count (stmt) >= 2)
        sqlite3_bind_int64 (stmt, 2, b);
    int rc = store_write_step (self, stmt, what);
    sqlite3_finalize (stmt);
    return rc;
}

json_t *
store_job_page (store_t *self, const store_page_t *page, int64_t *next)
{
    *next = 0;
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT id FROM jobs WHERE id < ?1%s%s%s ORDER BY id DESC LIMIT ?4",
              page->state >= 0 ? " AND state = ?2" : "", page->name ? " AND name = ?3" : "",
              page->sweep > 0 ? " AND sweep = ?5" : "");
    sqlite3_stmt *stmt = s_prepare (self, sql);
    if (!stmt)
        return NULL;
    sqlite3_bind_int64 (stmt, 1, page->before > 0 ? page->before : INT64_MAX);
    if (page->state >= 0)
        sqlite3_bind_text (stmt, 2, job_state_name (page->state), -1, SQLITE_STATIC);
    if (page->name)
        sqlite3_bind_text (stmt, 3, page->name, -1, SQLITE_STATIC);
    if (page->sweep > 0)
        sqlite3_bind_int64 (stmt, 5, page->sweep);
    sqlite3_bind_int (stmt, 4, page->limit + 1);   // one more: is there a next page?
    json_t *list = json_array ();
    size_t bytes = 0;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64 (stmt, 0);
        if ((int) json_array_size (list) == page->limit) {
            *next = json_integer_value (json_object_get (json_array_get (list,
                                        json_array_size (list) - 1), "id"));
            break;
        }
        json_t *job = store_job_json (self, id, false);
        if (!job)
            continue;           // deleted meanwhile
        size_t size = json_dumpb (job, NULL, 0, JSON_COMPACT);
        if (json_array_size (list) > 0 && bytes + size > page->max_bytes) {
            //  Full by size: the next page starts after the last job taken
            *next = json_integer_value (json_object_get (json_array_get (list,
                                        json_array_size (list) - 1), "id"));
            json_decref (job);
            break;
        }
        bytes += size;
        json_array_append_new (list, job);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        mt_error ("store: listing jobs: %s", sqlite3_errmsg (store_db (self)));
        json_decref (list);
        list = NULL;
    }
    sqlite3_finalize (stmt);
    return list;
}

int
store_job_resume (store_t *self, int64_t id)
{
    if (s_write (self, "UPDATE jobs SET state = 'queued', worker = NULL, not_before = 0,"
                 " error = NULL, finished_at = NULL"
                 " WHERE id = ?1 AND state IN ('failed', 'stopped')", id, 0, "resume job"))
        return -1;
    return sqlite3_changes (store_db (self)) == 1 ? 0 : 1;
}

//  Append hash to doomed when it is set and no job names it any more.
static void
s_doom_unused (store_t *self, const char *hash, json_t *doomed)
{
    if (!hash || !*hash || store_blob_in_use (self, hash))
        return;
    size_t i;
    json_t *item;
    json_array_foreach (doomed, i, item)
        if (strcmp (json_string_value (item), hash) == 0)
            return;
    json_array_append_new (doomed, json_string (hash));
}

int
store_job_delete (store_t *self, int64_t id, json_t *doomed)
{
    store_job_t job;
    if (store_job_get (self, id, &job))
        return 1;
    bool ended = job_state_ended (job.state);
    int rc = ended ? 0 : 1;
    if (ended
    &&  (s_write (self, "DELETE FROM progress WHERE job = ?1", id, 0, "delete progress")
      || s_write (self, "DELETE FROM attempts WHERE job = ?1", id, 0, "delete attempts")
      || s_write (self, "DELETE FROM jobs WHERE id = ?1", id, 0, "delete job")))
        rc = -1;
    if (rc == 0) {
        const char *hashes [] = { job.data_hash, job.init_hash, job.val_data_hash,
                                  job.model_hash, job.checkpoint_hash };
        for (size_t i = 0; i < sizeof hashes / sizeof hashes [0]; i++)
            s_doom_unused (self, hashes [i], doomed);
    }
    store_job_clear (&job);
    return rc;
}

int
store_prune (store_t *self, int64_t before_ms, int limit, json_t *doomed)
{
    //  A job is pruned once: its checkpoint goes, and it keeps no history.
    //  The ended states are job_state_ended's
    char ended [200] = "";
    for (int s = 0; s < JOB_STATES; s++)
        if (job_state_ended ((job_state_t) s))
            snprintf (ended + strlen (ended), sizeof ended - strlen (ended), "%s'%s'",
                      ended [0] ? ", " : "", job_state_name ((job_state_t) s));
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT id, checkpoint_hash FROM jobs WHERE state IN (%s)"
              " AND finished_at < ?1 AND (checkpoint_hash IS NOT NULL"
              " OR EXISTS (SELECT 1 FROM progress WHERE job = jobs.id)) ORDER BY id LIMIT ?2",
              ended);
    sqlite3_stmt *stmt = s_prepare (self, sql);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, before_ms);
    sqlite3_bind_int (stmt, 2, limit);
    json_t *ids = json_array (), *hashes = json_array ();
    while (sqlite3_step (stmt) == SQLITE_ROW) {
        const char *hash = (const char *) sqlite3_column_text (stmt, 1);
        json_array_append_new (ids, json_integer (sqlite3_column_int64 (stmt, 0)));
        json_array_append_new (hashes, hash ? json_string (hash) : json_null ());
    }
    sqlite3_finalize (stmt);
    int pruned = 0;
    size_t i;
    json_t *id;
    json_array_foreach (ids, i, id) {
        int64_t job = json_integer_value (id);
        if (s_write (self, "DELETE FROM progress WHERE job = ?1", job, 0, "prune progress")
        ||  s_write (self, "UPDATE jobs SET checkpoint_hash = NULL WHERE id = ?1", job, 0,
                     "prune checkpoint")) {
            pruned = -1;
            break;
        }
        s_doom_unused (self, json_string_value (json_array_get (hashes, i)), doomed);
        pruned++;
    }
    json_decref (ids);
    json_decref (hashes);
    return pruned;
}

json_t *
store_blobs_named (store_t *self)
{
    //  The columns and spec fields of Q_BLOB_USED (store.c), one pass over
    //  each table (a UNION of the columns sorted them all: 25 times slower)
    static const char *sql [] = {
        "SELECT data_hash, model_hash, checkpoint_hash, init_hash, val_data_hash FROM jobs",
        "SELECT json_extract (spec, '$.data_hash'), json_extract (spec, '$.init_hash'),"
        " json_extract (spec, '$.val_data_hash') FROM sweeps"
    };
    json_t *named = json_object ();
    for (size_t q = 0; named && q < sizeof sql / sizeof sql [0]; q++) {
        sqlite3_stmt *stmt = s_prepare (self, sql [q]);
        if (!stmt) {
            json_decref (named);
            return NULL;
        }
        int rc;
        while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
            for (int col = 0; col < sqlite3_column_count (stmt); col++) {
                const char *hash = (const char *) sqlite3_column_text (stmt, col);
                if (hash && *hash)
                    json_object_set_new (named, hash, json_true ());
            }
        if (rc != SQLITE_DONE) {
            mt_error ("store: listing the blobs in use: %s", sqlite3_errmsg (store_db (self)));
            json_decref (named);
            named = NULL;
        }
        sqlite3_finalize (stmt);
    }
    return named;
}

int
store_progress_thin (store_t *self, int64_t id, int attempt)
{
    sqlite3_stmt *stmt = s_prepare (self, "SELECT count(*), min(rowid), max(rowid) FROM progress"
                                    " WHERE job = ?1 AND attempt = ?2");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int (stmt, 2, attempt);
    int64_t count = 0, first = 0, last = 0;
    if (sqlite3_step (stmt) == SQLITE_ROW) {
        count = sqlite3_column_int64 (stmt, 0);
        first = sqlite3_column_int64 (stmt, 1);
        last = sqlite3_column_int64 (stmt, 2);
    }
    sqlite3_finalize (stmt);
    if (count <= STORE_PROGRESS_MAX_ROWS)
        return 0;
    //  The older half: rows before the median rowid of this attempt; of them
    //  every other one (by position) goes, except the first and the last row
    //  and epoch ends while taking the other rows is enough. When it is not
    //  (many short epochs: mostly epoch ends), the epoch ends of the older
    //  half are thinned the same way, so the history is bounded however it
    //  is made up
    stmt = s_prepare (self,
        "DELETE FROM progress WHERE rowid IN (SELECT rowid FROM (SELECT rowid, metrics,"
        " row_number () OVER (ORDER BY rowid) AS n FROM progress WHERE job = ?1 AND attempt = ?2)"
        " WHERE n <= ?3 AND n % 2 = 0 AND (?6 OR metrics IS NULL) AND rowid != ?4"
        " AND rowid != ?5)");
    if (!stmt) {
        store_abort (self);
        return -1;
    }
    int deleted = 0, rc = 0;
    for (int ends = 0; rc == 0 && ends < 2 && count - deleted > STORE_PROGRESS_MAX_ROWS; ends++) {
        sqlite3_reset (stmt);
        sqlite3_bind_int64 (stmt, 1, id);
        sqlite3_bind_int (stmt, 2, attempt);
        sqlite3_bind_int64 (stmt, 3, count / 2);
        sqlite3_bind_int64 (stmt, 4, first);
        sqlite3_bind_int64 (stmt, 5, last);
        sqlite3_bind_int (stmt, 6, ends);
        rc = store_write_step (self, stmt, "thin progress");
        if (rc == 0)
            deleted += sqlite3_changes (store_db (self));
    }
    sqlite3_finalize (stmt);
    return rc ? -1 : deleted;
}
