/*  retention - mtbroker --keep-days: ended jobs' history and checkpoints pruned, a bounded batch per tick; unnamed blobs removed  */
#include "reactor.h"
#include "store_pages.h"

static void s_orphans (broker_t *self, int64_t before);

void
retention_tick (broker_t *self, int64_t now)
{
    if (self->config.keep_days <= 0)
        return;
    int64_t before = zclock_time () - (int64_t) self->config.keep_days * 86400 * 1000;
    if (!self->orphans_at || now - self->orphans_at >= BROKER_ORPHANS_EVERY_MS) {
        self->orphans_at = now;
        s_orphans (self, before);
    }
    if (self->pruned_at && now - self->pruned_at < BROKER_PRUNE_EVERY_MS)
        return;
    self->pruned_at = now;
    json_t *doomed = json_array ();
    int pruned = store_prune (self->store, before, BROKER_PRUNE_JOBS, doomed);
    size_t i;
    json_t *hash;
    json_array_foreach (doomed, i, hash)
        broker_doom (self, json_string_value (hash));
    if (pruned == BROKER_PRUNE_JOBS)
        self->pruned_at = 0;        // more are due: go on at the next tick
    if (pruned > 0)
        broker_announce (self, MT_LOG_INFO, "broker: pruned the history and checkpoints of %d"
                         " jobs that ended over %d days ago", pruned, self->config.keep_days);
    json_decref (doomed);
}

typedef struct {
    broker_t *broker;
    json_t *named;
    int doomed;
} s_orphans_t;

static void
s_orphan (const char *hash, void *arg)
{
    s_orphans_t *o = arg;
    if (!json_object_get (o->named, hash)) {
        broker_doom (o->broker, hash);
        o->doomed++;
    }
}

//  Blobs stored before before that no job and no sweep names (a file
//  uploaded for a submit the broker refused, say) are doomed: removed after
//  the usual grace unless one names them by then.
static void
s_orphans (broker_t *self, int64_t before)
{
    s_orphans_t o = { self, store_blobs_named (self->store), 0 };
    if (!o.named)
        return;
    blob_store_each_older (self->blobs, before, s_orphan, &o);
    store_blobs_older (self->store, before, s_orphan, &o);
    if (o.doomed > 0)
        broker_announce (self, MT_LOG_INFO, "broker: %d blobs stored over %d days ago that no job"
                         " or sweep names are to be removed", o.doomed, self->config.keep_days);
    json_decref (o.named);
}
