/*  test_cache - the worker's cache bound: least recently used datasets go first, a job's own stay; job folders are removed or kept as the spare  */
#include "testutil.h"
#include "cache.h"
#include "mt/blob.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

//  A blob of size bytes (seeded) stored in the cache, last used at second `used`.
static void
s_blob (blob_store_t *cache, int seed, size_t size, time_t used, char hex [65])
{
    unsigned char *data = malloc (size);
    CHECK (data);
    for (size_t i = 0; i < size; i++)
        data [i] = (unsigned char) (i * 31 + (size_t) seed);
    unsigned char digest [32];
    crypto_hash_sha256 (digest, data, size);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
    bool complete = false;
    int64_t next;
    CHECK (blob_store_write (cache, hex, (int64_t) size, 0, data, size, &complete, &next, NULL) == 0
           && complete);
    free (data);
    char *path = blob_store_path (cache, hex);
    struct timespec times [2] = { { used, 0 }, { used, 0 } };
    CHECK (utimensat (AT_FDCWD, path, times, 0) == 0);
    free (path);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    char dir [256];
    test_temp_dir (dir, sizeof dir, "mt-cache");
    char *cause = NULL;
    blob_store_t *cache = blob_store_new (dir, &cause);
    CHECK_MSG (cache, "%s", cause);
    char a [65], b [65], c [65], d [65];
    s_blob (cache, 1, 1000, 100, a);        // the oldest use
    s_blob (cache, 2, 1000, 200, b);
    s_blob (cache, 3, 1000, 300, c);
    s_blob (cache, 4, 1000, 400, d);        // the newest
    //  Within the bound: nothing goes
    CHECK (cache_trim (cache, dir, 4000, NULL, 0) == 0);
    //  a is in use by the job (kept); b is the least recently used of the rest
    const char *keep [] = { a, "" };
    CHECK (cache_trim (cache, dir, 3000, keep, 2) == 1000);
    CHECK (blob_store_has (cache, a, NULL) && !blob_store_has (cache, b, NULL));
    //  c used now: d is now the older one and goes first
    cache_touch (cache, c);
    CHECK (cache_trim (cache, dir, 2000, NULL, 0) == 1000);
    CHECK (!blob_store_has (cache, a, NULL) && blob_store_has (cache, c, NULL)
           && blob_store_has (cache, d, NULL));
    CHECK (cache_trim (cache, dir, 1000, NULL, 0) == 1000);
    CHECK (blob_store_has (cache, c, NULL) && !blob_store_has (cache, d, NULL));
    //  A bound below what the job needs keeps the job's files
    const char *need [] = { c };
    CHECK (cache_trim (cache, dir, 0, need, 1) == 0 && blob_store_has (cache, c, NULL));
    printf ("cache: least recently used first, kept blobs stay, the bound holds\n");
    //  A job folder and its files
    char job [300];
    snprintf (job, sizeof job, "%s/jobs-7-1", dir);
    CHECK (mkdir (job, 0700) == 0);
    FILE *file = fopen (test_path (job, "model.safetensors"), "w");
    CHECK (file && fputs ("x", file) >= 0 && fclose (file) == 0);
    CHECK (cache_remove_job_dir (job) == 0);
    CHECK (access (job, F_OK) == -1);
    CHECK (cache_remove_job_dir (job) == 0);        // gone already: fine

    //  An ended job's folder kept as the spare: emptied but for the model
    //  file, truncated; the next job's folder is the spare renamed, the same
    //  inodes; with a spare kept already, an ended folder is removed
    char spare [300], next [300], other [300];
    snprintf (spare, sizeof spare, "%s/.spare", dir);
    snprintf (next, sizeof next, "%s/jobs-8-1", dir);
    snprintf (other, sizeof other, "%s/jobs-9-1", dir);
    CHECK (cache_take_job_dir (spare, job) == 0);   // no spare yet: made
    file = fopen (test_path (job, "model.safetensors"), "w");
    CHECK (file && fputs ("a model", file) >= 0 && fclose (file) == 0);
    file = fopen (test_path (job, "checkpoint.safetensors"), "w");
    CHECK (file && fputs ("a checkpoint", file) >= 0 && fclose (file) == 0);
    struct stat folder_st, model_st, st;
    CHECK (stat (job, &folder_st) == 0 && stat (test_path (job, "model.safetensors"), &model_st) == 0);
    CHECK (cache_park_job_dir (job, spare, "model.safetensors") == 0);
    CHECK (access (job, F_OK) == -1);
    CHECK (stat (test_path (spare, "model.safetensors"), &st) == 0 && st.st_size == 0
           && st.st_ino == model_st.st_ino);
    CHECK (access (test_path (spare, "checkpoint.safetensors"), F_OK) == -1);
    CHECK (cache_take_job_dir (spare, next) == 0);
    CHECK (access (spare, F_OK) == -1);
    CHECK (stat (next, &st) == 0 && st.st_ino == folder_st.st_ino);
    CHECK (stat (test_path (next, "model.safetensors"), &st) == 0 && st.st_ino == model_st.st_ino);
    CHECK (cache_park_job_dir (next, spare, "model.safetensors") == 0);
    CHECK (cache_take_job_dir (spare, other) == 0 && cache_take_job_dir (spare, next) == 0);
    file = fopen (test_path (other, "model.safetensors"), "w");
    CHECK (file && fputs ("b", file) >= 0 && fclose (file) == 0);
    CHECK (cache_park_job_dir (other, spare, "model.safetensors") == 0);
    file = fopen (test_path (next, "model.safetensors"), "w");
    CHECK (file && fputs ("c", file) >= 0 && fclose (file) == 0);
    CHECK (cache_park_job_dir (next, spare, "model.safetensors") == 0);
    CHECK (access (next, F_OK) == -1 && access (spare, F_OK) == 0);   // removed: a spare is kept

    //  The job folders a dead worker left: removed by the first worker to
    //  claim the folder, never while another worker holds it
    char jobs [300], left [320];
    snprintf (jobs, sizeof jobs, "%s/jobs", dir);
    snprintf (left, sizeof left, "%s/12-2", jobs);
    CHECK (mkdir (jobs, 0700) == 0 && mkdir (left, 0700) == 0);
    file = fopen (test_path (left, "model.safetensors"), "w");
    CHECK (file && fputs ("left", file) >= 0 && fclose (file) == 0);
    int first = -1, second = -1, removed = -1;
    CHECK (cache_claim_jobs (jobs, &first, &removed) == 0 && first >= 0);
    CHECK (removed == 1 && access (left, F_OK) == -1);
    CHECK (mkdir (left, 0700) == 0);                // the first worker's running job
    CHECK (cache_claim_jobs (jobs, &second, &removed) == 0 && second >= 0);
    CHECK (removed == 0 && access (left, F_OK) == 0);
    close (first);
    close (second);                                 // both gone (killed): the next one cleans
    CHECK (cache_claim_jobs (jobs, &first, &removed) == 0 && removed == 1);
    CHECK (access (left, F_OK) == -1 && access (test_path (jobs, ".lock"), F_OK) == 0);
    close (first);
    printf ("cache: a dead worker's job folders go when the next worker claims the folder alone\n");
    blob_store_destroy (&cache);
    test_remove_dir (dir);
    printf ("test_cache: ok\n");
    return 0;
}
