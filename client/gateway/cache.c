/*  cache - the gateway's rendered GET /api/v1/jobs/{id} answers, kept until that job's next event  */
//  A hash of job id to its JSON text, with a least-recently-read list. Every
//  drop and flush advances a tick; a drop stamps its job's slot (one of
//  CACHE_SLOTS, by id) with it, a flush stamps them all at once. An answer
//  fetched from the broker is kept only when neither its slot nor the flush
//  moved past the ticket taken before the broker was asked: otherwise an
//  event newer than that answer was already seen, and keeping it would serve
//  the old map after the event. The hub drops and flushes; the routes get
//  and put, from MHD's threads.
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096        // drop stamps, by id modulo; a collision only costs a put

typedef struct s_entry_t s_entry_t;
struct s_entry_t {
    int64_t id;
    char *text;
    size_t len;
    s_entry_t *chain;           // the next in its hash bucket
    s_entry_t *newer, *older;   // the recently-read list
};

struct cache_t {
    pthread_mutex_t lock;
    s_entry_t **buckets;
    size_t n_buckets;           // a power of two
    s_entry_t *newest, *oldest;
    size_t entries, bytes, max_entries, max_bytes;
    bool enabled;
    uint64_t tick;              // advanced by every drop and flush
    uint64_t flushed_at;        // the tick of the last flush
    uint64_t slots [CACHE_SLOTS];   // the tick of the last drop of an id in each slot
    uint64_t hits, misses;
};

static s_entry_t **s_find (cache_t *self, int64_t id);
static void s_unlink (cache_t *self, s_entry_t *entry);
static void s_push (cache_t *self, s_entry_t *entry);
static void s_remove (cache_t *self, s_entry_t **link);

cache_t *
cache_new (size_t max_entries, size_t max_bytes)
{
    cache_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->n_buckets = 64;
    while (self->n_buckets < max_entries)
        self->n_buckets *= 2;
    self->buckets = calloc (self->n_buckets, sizeof *self->buckets);
    if (!self->buckets) {
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->max_entries = max_entries;
    self->max_bytes = max_bytes;
    self->tick = self->flushed_at = 1;
    return self;
}

void
cache_destroy (cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cache_t *self = *self_p;
    cache_flush (self, false);
    pthread_mutex_destroy (&self->lock);
    free (self->buckets);
    free (self);
    *self_p = NULL;
}

//  The link that points at id's entry, or at the NULL ending its bucket.
static s_entry_t **
s_find (cache_t *self, int64_t id)
{
    uint64_t hash = (uint64_t) id * 0x9E3779B97F4A7C15ull;
    s_entry_t **link = &self->buckets [(hash >> 32) & (self->n_buckets - 1)];
    while (*link && (*link)->id != id)
        link = &(*link)->chain;
    return link;
}

static void
s_unlink (cache_t *self, s_entry_t *entry)
{
    if (entry->newer)
        entry->newer->older = entry->older;
    else
        self->newest = entry->older;
    if (entry->older)
        entry->older->newer = entry->newer;
    else
        self->oldest = entry->newer;
    entry->newer = entry->older = NULL;
}

static void
s_push (cache_t *self, s_entry_t *entry)
{
    entry->older = self->newest;
    entry->newer = NULL;
    if (self->newest)
        self->newest->newer = entry;
    else
        self->oldest = entry;
    self->newest = entry;
}

//  Free the entry link points at (lock held).
static void
s_remove (cache_t *self, s_entry_t **link)
{
    s_entry_t *entry = *link;
    *link = entry->chain;
    s_unlink (self, entry);
    self->entries--;
    self->bytes -= entry->len;
    free (entry->text);
    free (entry);
}

uint64_t
cache_ticket (cache_t *self)
{
    pthread_mutex_lock (&self->lock);
    uint64_t ticket = self->enabled ? self->tick : 0;
    pthread_mutex_unlock (&self->lock);
    return ticket;
}

bool
cache_put (cache_t *self, int64_t id, uint64_t ticket, const char *text, size_t len)
{
    if (ticket == 0 || len > self->max_bytes || self->max_entries == 0)
        return false;
    s_entry_t *entry = calloc (1, sizeof *entry);
    char *copy = malloc (len ? len : 1);
    if (!entry || !copy) {
        free (entry);
        free (copy);
        return false;
    }
    memcpy (copy, text, len);
    entry->id = id;
    entry->text = copy;
    entry->len = len;
    pthread_mutex_lock (&self->lock);
    bool fresh = self->enabled && ticket >= self->flushed_at
              && ticket >= self->slots [(uint64_t) id % CACHE_SLOTS];
    if (fresh) {
        s_entry_t **link = s_find (self, id);
        if (*link)
            s_remove (self, link);
        while (self->oldest && (self->entries >= self->max_entries
                                || self->bytes + len > self->max_bytes))
            s_remove (self, s_find (self, self->oldest->id));
        entry->chain = NULL;
        *s_find (self, id) = entry;
        s_push (self, entry);
        self->entries++;
        self->bytes += len;
        entry = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    if (entry) {
        free (entry->text);
        free (entry);
    }
    return fresh;
}

char *
cache_get (cache_t *self, int64_t id, size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock (&self->lock);
    s_entry_t *entry = *s_find (self, id);
    if (entry && (copy = malloc (entry->len ? entry->len : 1))) {
        memcpy (copy, entry->text, entry->len);
        *len = entry->len;
        s_unlink (self, entry);
        s_push (self, entry);
        self->hits++;
    }
    else
        self->misses++;
    pthread_mutex_unlock (&self->lock);
    return copy;
}

void
cache_drop (cache_t *self, int64_t id)
{
    pthread_mutex_lock (&self->lock);
    self->slots [(uint64_t) id % CACHE_SLOTS] = ++self->tick;
    s_entry_t **link = s_find (self, id);
    if (*link)
        s_remove (self, link);
    pthread_mutex_unlock (&self->lock);
}

void
cache_flush (cache_t *self, bool enabled)
{
    pthread_mutex_lock (&self->lock);
    self->flushed_at = ++self->tick;
    self->enabled = enabled;
    while (self->oldest)
        s_remove (self, s_find (self, self->oldest->id));
    pthread_mutex_unlock (&self->lock);
}

void
cache_counts (cache_t *self, uint64_t *hits, uint64_t *misses, size_t *entries)
{
    pthread_mutex_lock (&self->lock);
    *hits = self->hits;
    *misses = self->misses;
    *entries = self->entries;
    pthread_mutex_unlock (&self->lock);
}
