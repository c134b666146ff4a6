/*  cache - the worker's cache folder kept bounded: datasets least recently used go first, job folders go when their job ends  */
#include "cache.h"
#include "mt/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char hash [65];
    int64_t size;               // bytes
    int64_t used_ns;            // mtime: its last use
} entry_t;

static int s_oldest_first (const void *a, const void *b);
static bool s_kept (const char *hash, const char *const keep [], int n);

void
cache_touch (blob_store_t *cache, const char *hash)
{
    char *path = blob_store_path (cache, hash);
    if (path)
        utimensat (AT_FDCWD, path, NULL, 0);
    free (path);
}

static int
s_oldest_first (const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    return x->used_ns < y->used_ns ? -1 : x->used_ns > y->used_ns;
}

static bool
s_kept (const char *hash, const char *const keep [], int n)
{
    for (int i = 0; i < n; i++)
        if (keep [i] && strcmp (keep [i], hash) == 0)
            return true;
    return false;
}

int64_t
cache_trim (blob_store_t *cache, const char *dir, int64_t max_bytes, const char *const keep [],
            int n)
{
    char path [4200];
    snprintf (path, sizeof path, "%s/blobs", dir);
    DIR *folder = opendir (path);
    if (!folder)
        return 0;
    entry_t *entries = NULL;
    size_t count = 0, cap = 0;
    int64_t total = 0;
    struct dirent *item;
    while ((item = readdir (folder))) {
        struct stat st;
        if (!blob_hash_valid (item->d_name)
        ||  fstatat (dirfd (folder), item->d_name, &st, 0) || !S_ISREG (st.st_mode))
            continue;
        if (count == cap) {
            entry_t *more = realloc (entries, (cap = cap ? cap * 2 : 64) * sizeof *entries);
            if (!more)
                break;
            entries = more;
        }
        entry_t *entry = &entries [count++];
        memcpy (entry->hash, item->d_name, 65);
        entry->size = st.st_size;
        entry->used_ns = (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        total += st.st_size;
    }
    closedir (folder);
    if (count)
        qsort (entries, count, sizeof *entries, s_oldest_first);
    int64_t removed = 0;
    for (size_t i = 0; i < count && total - removed > max_bytes; i++) {
        if (s_kept (entries [i].hash, keep, n) || blob_store_remove (cache, entries [i].hash))
            continue;
        removed += entries [i].size;
        mt_info ("cache: removed %.12s (%lld bytes, least recently used) to stay within %lld"
                 " bytes", entries [i].hash, (long long) entries [i].size, (long long) max_bytes);
    }
    free (entries);
    return removed;
}

//  Empty the folder dir (it holds no sub-folders) but for the file named
//  keep, when not NULL, which is truncated. Returns 0, or -1.
static int
s_empty_dir (const char *dir, const char *keep)
{
    DIR *folder = opendir (dir);
    if (!folder)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *item;
    while ((item = readdir (folder))) {
        if (strcmp (item->d_name, ".") == 0 || strcmp (item->d_name, "..") == 0)
            continue;
        if (keep && strcmp (item->d_name, keep) == 0) {
            int fd = openat (dirfd (folder), keep, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0 || ftruncate (fd, 0))
                rc = -1;
            if (fd >= 0)
                close (fd);
        }
        else
        if (unlinkat (dirfd (folder), item->d_name, 0) && errno != ENOENT)
            rc = -1;
    }
    closedir (folder);
    return rc;
}

int
cache_park_job_dir (const char *dir, const char *spare, const char *keep)
{
    //  A spare kept already (rename refuses a folder that is not empty)
    if (s_empty_dir (dir, keep) == 0 && rename (dir, spare) == 0)
        return 0;
    return cache_remove_job_dir (dir);
}

int
cache_take_job_dir (const char *spare, const char *dir)
{
    if (rename (spare, dir) == 0)
        return 0;
    if (mkdir (dir, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

int
cache_remove_job_dir (const char *dir)
{
    int rc = s_empty_dir (dir, NULL);
    if (rmdir (dir) && errno != ENOENT)
        rc = -1;
    if (rc)
        mt_warn ("cache: cannot remove the job folder %s: %s", dir, strerror (errno));
    return rc;
}

int
cache_claim_jobs (const char *jobs_dir, int *lock_fd, int *removed)
{
    *removed = 0;
    char path [4200];
    snprintf (path, sizeof path, "%s/.lock", jobs_dir);
    *lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*lock_fd < 0)
        return -1;
    //  Held exclusively, nobody else uses the folder: what is in it is left
    //  over. Each worker then holds the lock shared while it lives. (A
    //  training process closes it: one that outlives its killed worker
    //  for a moment trains for nobody, and its folder may go.)
    if (flock (*lock_fd, LOCK_EX | LOCK_NB) == 0) {
        DIR *folder = opendir (jobs_dir);
        struct dirent *item;
        while (folder && (item = readdir (folder))) {
            const char *name = item->d_name;
            if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strcmp (name, ".lock") == 0)
                continue;
            snprintf (path, sizeof path, "%s/%s", jobs_dir, name);
            if (cache_remove_job_dir (path) == 0 && name [0] != '.')
                (*removed)++;               // a job's folder (the spare is a dot folder)
        }
        if (folder)
            closedir (folder);
    }
    if (flock (*lock_fd, LOCK_SH) != 0) {
        int saved = errno;
        close (*lock_fd);
        *lock_fd = -1;
        errno = saved;
        return -1;
    }
    return 0;
}
