/*  blobs - the broker's blobs by hash: small models in the database, everything else in the blob folder  */
#include "reactor.h"

bool
blobs_has (broker_t *self, const char *hash, int64_t *size)
{
    return store_blob_has (self->store, hash, size) || blob_store_has (self->blobs, hash, size);
}

int
blobs_read (broker_t *self, const char *hash, int64_t offset, void *buf, size_t len,
            size_t *got, char **cause)
{
    if (store_blob_has (self->store, hash, NULL))
        return store_blob_read (self->store, hash, offset, buf, len, got, cause);
    return blob_store_read (self->blobs, hash, offset, buf, len, got, cause);
}

int
blobs_keep_small (broker_t *self, const char *hash, const void *data, size_t size)
{
    assert (size <= BROKER_SMALL_BLOB_MAX);
    //  A blob the folder holds already (the same model uploaded once) is not
    //  kept twice
    if (blob_store_has (self->blobs, hash, NULL))
        return 0;
    return store_blob_put (self->store, hash, data, size, zclock_time ());
}

int
blobs_remove (broker_t *self, const char *hash)
{
    //  Both places: a blob kept small may also have been uploaded since
    int in_db = store_blob_delete (self->store, hash);
    int in_folder = blob_store_remove (self->blobs, hash);
    return in_db == 1 || in_folder == 0 ? 0 : -1;
}
