/*  cache - the worker's cache folder kept bounded: datasets least recently used go first, job folders go when their job ends  */
#ifndef MT_WORKER_CACHE_H_INCLUDED
#define MT_WORKER_CACHE_H_INCLUDED

#include "mt/blob.h"

#include <stdint.h>

//  Mark blob hash of the cache as used now (its mtime), for cache_trim's order.
void cache_touch (blob_store_t *cache, const char *hash);

//  Remove blobs of the cache under dir (dir/blobs), least recently used
//  first, until they total at most max_bytes; the hashes in keep (n of them,
//  "" entries ignored) stay whatever their size. Returns the bytes removed.
int64_t cache_trim (blob_store_t *cache, const char *dir, int64_t max_bytes,
                    const char *const keep [], int n);

//  Remove a job's folder and the files in it (it holds no sub-folders).
//  Returns 0, or -1 when something could not be removed (logged).
int cache_remove_job_dir (const char *dir);

//  A job's folder, once its job ended, kept as spare (one at a time) for
//  the next job: emptied but for the file named keep, which is truncated
//  (its inode serves the next job's copy), and renamed to spare. Creating
//  and freeing a folder and a file per job slows ext4's inode allocator
//  with every job. Falls back to cache_remove_job_dir when a spare is kept
//  already (a cache that workers share) or the rename fails. Returns 0, or
//  -1 (logged).
int cache_park_job_dir (const char *dir, const char *spare, const char *keep);

//  The job folder dir, made from the spare folder if one is kept, else
//  created; an existing dir is taken as it is. Returns 0, or -1 (errno).
int cache_take_job_dir (const char *spare, const char *dir);

//  Take part in jobs_dir (CACHE/jobs) for this process's life: a shared
//  flock on jobs_dir/.lock, in *lock_fd (-1 when it cannot be had). The
//  first worker of a cache that no live worker holds removes the job
//  folders left there by one that died (kill -9, a crash) before it;
//  *removed counts them. Returns 0, or -1 with errno when the lock cannot
//  be had (then this worker must not run: a later one would take the
//  folders of its jobs for leftovers).
int cache_claim_jobs (const char *jobs_dir, int *lock_fd, int *removed);

#endif
