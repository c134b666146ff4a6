/*  blob - content-addressed files in a folder, written in ordered chunks, checked by SHA-256  */
#ifndef MT_BLOB_H_INCLUDED
#define MT_BLOB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOB_MAX_SIZE (INT64_C (1) << 40)   // bytes in one blob at most (1 TiB)
#define BLOB_MAX_UPLOADS 64                 // uploads in progress at once
#define BLOB_MAX_UPLOADS_PER_OWNER 8        // ... started by one owner (client key) at once

typedef struct blob_store_t blob_store_t;

//  Why the last blob_store_write failed.
typedef enum {
    BLOB_ERR_REQUEST,           // bad hash, size or offset: the sender's mistake
    BLOB_ERR_HASH,              // the bytes do not match their SHA-256
    BLOB_ERR_DISK,              // the disk refused (full, I/O error)
    BLOB_ERR_BUSY,              // too many uploads in progress (in all, or by this owner)
    BLOB_ERR_RETRY              // a chunk past the bytes received (the upload was dropped
                                //   and begun again by another sender): probe again
} blob_error_t;

//  Open the store under dir (creating dir/blobs and dir/incoming, mode 0700).
//  Returns a new store, or NULL with *cause.
blob_store_t *blob_store_new (const char *dir, char **cause);
void blob_store_destroy (blob_store_t **self_p);

//  True when a valid 64-hex-digit lower-case SHA-256 (so it is safe in a path).
bool blob_hash_valid (const char *hash);

//  True when the blob is stored; sets *size if size is not NULL.
bool blob_store_has (blob_store_t *self, const char *hash, int64_t *size);

//  The blob's path; the caller frees it. NULL for an invalid hash.
char *blob_store_path (blob_store_t *self, const char *hash);

//  Write one chunk of blob hash (total size bytes) at offset for owner (who
//  starts an upload holds one of its BLOB_MAX_UPLOADS_PER_OWNER slots; NULL
//  counts as one owner). Several senders may upload the same blob at once:
//  a chunk at or below the bytes received so far is taken, and only its part
//  past them is written (content addressing makes the overlap the same bytes;
//  the SHA-256 at the end checks all), so *next is the end of this chunk. A
//  chunk past the bytes received fails with BLOB_ERR_RETRY and *next says
//  where they end. When the last byte arrives the SHA-256 is checked and the
//  blob moves into place (*complete). A blob already stored is complete at
//  once (and its mtime, when over an hour old, set to now: it was just stored
//  again, as far as a sweep of old blobs is concerned). An empty chunk of a
//  non-empty blob is a probe: *next tells where to
//  continue, nothing is written. Returns 0, or -1 with *cause (bad hash, out
//  of order, busy, disk error).
int blob_store_write (blob_store_t *self, const char *hash, int64_t size, int64_t offset,
                      const void *data, size_t len, bool *complete, int64_t *next,
                      char **cause);
int blob_store_write_as (blob_store_t *self, const char *owner, const char *hash, int64_t size,
                         int64_t offset, const void *data, size_t len, bool *complete,
                         int64_t *next, char **cause);

//  The kind of the last blob_store_write failure.
blob_error_t blob_store_error (blob_store_t *self);

//  Drop an unfinished upload of hash (if any) and its partial file.
void blob_store_abort (blob_store_t *self, const char *hash);

//  Drop unfinished uploads idle for longer than idle_ms.
void blob_store_expire (blob_store_t *self, int64_t idle_ms);

//  Read up to len bytes of blob hash at offset into buf; *got says how many.
//  Returns 0, or -1 with *cause.
int blob_store_read (blob_store_t *self, const char *hash, int64_t offset, void *buf,
                     size_t len, size_t *got, char **cause);

//  Remove a stored blob. Returns 0 or -1.
int blob_store_remove (blob_store_t *self, const char *hash);

//  Call fn for each stored blob last written before before_ms (wall clock,
//  ms since the epoch), with its hash. Returns how many were found, or -1
//  when the folder cannot be read.
typedef void (blob_each_fn) (const char *hash, void *arg);
int blob_store_each_older (blob_store_t *self, int64_t before_ms, blob_each_fn *fn, void *arg);

//  SHA-256 of a file as lower-case hex, streaming (never the whole file in
//  memory); *size gets its length. Returns 0, or -1 with *cause.
int blob_hash_file (const char *path, char hex [65], int64_t *size, char **cause);

//  The same for an open file, read from its start with pread (the file
//  position is not moved), so what is hashed is what the caller then sends.
int blob_hash_fd (int fd, char hex [65], int64_t *size, char **cause);

//  SHA-256 of size bytes at data as lower-case hex. Returns 0, or -1 when
//  libsodium cannot start.
int blob_hash_bytes (const void *data, size_t size, char hex [65]);

//  End a running SHA-256 (libsodium's crypto_hash_sha256_state, passed as
//  void * so this header needs no sodium.h) and write it as lower-case hex.
void blob_sha256_hex (void *sha, char hex [65]);

#endif
