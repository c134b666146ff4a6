/*  retention - mtbroker --keep-days: ended jobs' history and checkpoints pruned, a bounded batch per tick  */
#include "reactor.h"
#include "store_pages.h"

void
retention_tick (broker_t *self, int64_t now)
{
    if (self->config.keep_days <= 0 || (self->pruned_at && now - self->pruned_at
                                        < BROKER_PRUNE_EVERY_MS))
        return;
    self->pruned_at = now;
    int64_t before = zclock_time () - (int64_t) self->config.keep_days * 86400 * 1000;
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
