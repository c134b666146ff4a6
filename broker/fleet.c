/*  fleet - the workers connected to the broker: who they are, what they run, when last heard  */
#include "fleet.h"

#include <sodium.h>

struct fleet_t {
    zlistx_t *workers;          // fleet_worker_t, in order of becoming idle
    zhashx_t *by_identity;      // routing id in hex -> fleet_worker_t (not owned)
};

//  A routing id (at most 255 bytes) in hex, as a hash key.
static void
s_key (zframe_t *identity, char key [511])
{
    size_t size = zframe_size (identity) < 255 ? zframe_size (identity) : 255;
    sodium_bin2hex (key, 511, zframe_data (identity), size);
}

static void
s_worker_free (void **item)
{
    fleet_worker_t *worker = *item;
    if (worker) {
        zframe_destroy (&worker->identity);
        free (worker);
        *item = NULL;
    }
}

fleet_t *
fleet_new (void)
{
    fleet_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->workers = zlistx_new ();
    self->by_identity = zhashx_new ();
    if (!self->workers || !self->by_identity) {
        fleet_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->workers, s_worker_free);
    return self;
}

void
fleet_destroy (fleet_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->by_identity);
    zlistx_destroy (&(*self_p)->workers);
    free (*self_p);
    *self_p = NULL;
}

fleet_worker_t *
fleet_find (fleet_t *self, zframe_t *identity)
{
    char key [511];
    s_key (identity, key);
    fleet_worker_t *worker = zhashx_lookup (self->by_identity, key);
    return worker && zframe_eq (worker->identity, identity) ? worker : NULL;
}

fleet_worker_t *
fleet_find_job (fleet_t *self, int64_t job)
{
    for (fleet_worker_t *w = zlistx_first (self->workers); w; w = zlistx_next (self->workers))
        if (w->job == job)
            return w;
    return NULL;
}

fleet_worker_t *
fleet_add (fleet_t *self, zframe_t *identity)
{
    if (zlistx_size (self->workers) >= FLEET_MAX_WORKERS)
        return NULL;
    fleet_worker_t *worker = calloc (1, sizeof *worker);
    if (!worker)
        return NULL;
    worker->identity = zframe_dup (identity);
    worker->connected_at = zclock_time ();
    worker->last_seen = zclock_mono ();
    char key [511];
    s_key (identity, key);
    if (!worker->identity || zhashx_insert (self->by_identity, key, worker)) {
        zframe_destroy (&worker->identity);
        free (worker);
        return NULL;
    }
    zlistx_add_end (self->workers, worker);
    return worker;
}

void
fleet_remove (fleet_t *self, fleet_worker_t *worker)
{
    void *handle = zlistx_find (self->workers, worker);
    if (handle) {
        char key [511];
        s_key (worker->identity, key);
        zhashx_delete (self->by_identity, key);
        zlistx_delete (self->workers, handle);
    }
}

fleet_worker_t *
fleet_idle (fleet_t *self)
{
    for (fleet_worker_t *w = zlistx_first (self->workers); w; w = zlistx_next (self->workers))
        if (w->job == 0) {
            //  Round robin: the chosen worker goes to the back of the line
            zlistx_move_end (self->workers, zlistx_cursor (self->workers));
            return w;
        }
    return NULL;
}

size_t
fleet_size (fleet_t *self)
{
    return zlistx_size (self->workers);
}

size_t
fleet_busy (fleet_t *self)
{
    size_t busy = 0;
    for (fleet_worker_t *w = zlistx_first (self->workers); w; w = zlistx_next (self->workers))
        busy += w->job != 0;
    return busy;
}

fleet_worker_t *fleet_first (fleet_t *self) { return zlistx_first (self->workers); }
fleet_worker_t *fleet_next (fleet_t *self) { return zlistx_next (self->workers); }

json_t *
fleet_worker_json (const fleet_worker_t *w, int64_t now_mono)
{
    json_t *item = json_object ();
    json_object_set_new (item, "name", json_string (w->name));
    json_object_set_new (item, "host", json_string (w->host));
    json_object_set_new (item, "pid", json_integer (w->pid));
    json_object_set_new (item, "cores", json_integer (w->cores));
    json_object_set_new (item, "threads", json_integer (w->threads));
    json_object_set_new (item, "version", json_string (w->version));
    json_object_set_new (item, "state", json_string (w->job ? "busy" : "idle"));
    json_object_set_new (item, "job", w->job ? json_integer (w->job) : json_null ());
    json_object_set_new (item, "attempt", w->job ? json_integer (w->attempt) : json_null ());
    json_object_set_new (item, "connected_at", json_integer (w->connected_at));
    json_object_set_new (item, "last_seen_ms", json_integer (now_mono - w->last_seen));
    return item;
}
