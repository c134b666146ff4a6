/*  queue - the queued jobs in memory, in dispatch order: priority with aging, then age  */
#include "queue.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

//  A queued job. It sits in exactly one heap: its level's ready heap, or the
//  delayed heap while backing off. Removal only marks it dead; a dead entry
//  is freed when it reaches the top of its heap.
typedef struct {
    int64_t id, created_at, not_before;
    int64_t since;              // queued again at (ms since epoch), 0 = not known
    int priority;
    bool live;
    int64_t *count;             // its client's queued count
} entry_t;

//  A binary min-heap of entries, by id (ready) or by not_before, id (delayed).
typedef struct {
    entry_t **items;
    size_t size, cap;
    bool by_time;
} heap_t;

typedef struct {
    int priority;
    heap_t ready;
} level_t;

//  One change inside a transaction, to undo it.
typedef struct {
    bool added;                 // else removed
    entry_t saved;
} change_t;

struct queue_t {
    level_t *levels;            // ascending priority; only levels with entries
    size_t nlevels, levels_cap;
    heap_t delayed;
    //  id -> live entry: open addressing, linear probing, no tombstones
    entry_t **slots;
    size_t nslots, live;
    zhashx_t *clients;          // client name -> int64_t queued count
    change_t *changes;
    size_t nchanges, changes_cap;
    bool recording;
};

static bool
s_before (const heap_t *heap, const entry_t *a, const entry_t *b)
{
    if (heap->by_time && a->not_before != b->not_before)
        return a->not_before < b->not_before;
    return a->id < b->id;
}

static int
s_heap_push (heap_t *heap, entry_t *entry)
{
    if (heap->size == heap->cap) {
        size_t cap = heap->cap ? heap->cap * 2 : 64;
        entry_t **items = realloc (heap->items, cap * sizeof *items);
        if (!items)
            return -1;
        heap->items = items;
        heap->cap = cap;
    }
    size_t i = heap->size++;
    while (i > 0 && s_before (heap, entry, heap->items [(i - 1) / 2])) {
        heap->items [i] = heap->items [(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap->items [i] = entry;
    return 0;
}

static entry_t *
s_heap_pop (heap_t *heap)
{
    entry_t *top = heap->items [0];
    entry_t *last = heap->items [--heap->size];
    size_t i = 0;
    while (true) {
        size_t child = 2 * i + 1;
        if (child >= heap->size)
            break;
        if (child + 1 < heap->size && s_before (heap, heap->items [child + 1], heap->items [child]))
            child++;
        if (!s_before (heap, heap->items [child], last))
            break;
        heap->items [i] = heap->items [child];
        i = child;
    }
    if (heap->size)
        heap->items [i] = last;
    return top;
}

//  The heap's first live entry, freeing dead ones on the way; NULL when empty.
static entry_t *
s_heap_top (heap_t *heap)
{
    while (heap->size && !heap->items [0]->live)
        free (s_heap_pop (heap));
    return heap->size ? heap->items [0] : NULL;
}

static void
s_heap_free (heap_t *heap)
{
    for (size_t i = 0; i < heap->size; i++)
        free (heap->items [i]);
    free (heap->items);
}

//  --- id -> entry ---------------------------------------------------------

static size_t
s_slot (queue_t *self, int64_t id)
{
    uint64_t h = (uint64_t) id * UINT64_C (0x9E3779B97F4A7C15);
    return (size_t) (h >> 32) & (self->nslots - 1);
}

static entry_t *
s_map_find (queue_t *self, int64_t id)
{
    for (size_t i = s_slot (self, id); self->slots [i]; i = (i + 1) & (self->nslots - 1))
        if (self->slots [i]->id == id)
            return self->slots [i];
    return NULL;
}

static int
s_map_grow (queue_t *self)
{
    size_t nslots = self->nslots * 2;
    entry_t **slots = calloc (nslots, sizeof *slots);
    if (!slots)
        return -1;
    entry_t **old = self->slots;
    size_t nold = self->nslots;
    self->slots = slots;
    self->nslots = nslots;
    for (size_t i = 0; i < nold; i++)
        if (old [i]) {
            size_t j = s_slot (self, old [i]->id);
            while (slots [j])
                j = (j + 1) & (nslots - 1);
            slots [j] = old [i];
        }
    free (old);
    return 0;
}

static int
s_map_put (queue_t *self, entry_t *entry)
{
    if ((self->live + 1) * 2 > self->nslots && s_map_grow (self))
        return -1;
    size_t i = s_slot (self, entry->id);
    while (self->slots [i])
        i = (i + 1) & (self->nslots - 1);
    self->slots [i] = entry;
    self->live++;
    return 0;
}

//  Remove by backward shift, so probing never needs tombstones.
static void
s_map_delete (queue_t *self, int64_t id)
{
    size_t mask = self->nslots - 1, i = s_slot (self, id);
    while (self->slots [i] && self->slots [i]->id != id)
        i = (i + 1) & mask;
    if (!self->slots [i])
        return;
    self->slots [i] = NULL;
    self->live--;
    for (size_t j = (i + 1) & mask; self->slots [j]; j = (j + 1) & mask) {
        size_t home = s_slot (self, self->slots [j]->id);
        //  The entry at j may move to the hole at i unless its home lies in (i, j]
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            self->slots [i] = self->slots [j];
            self->slots [j] = NULL;
            i = j;
        }
    }
}

//  --- levels ----------------------------------------------------------------

//  The level for priority, created when missing; NULL when out of memory.
static level_t *
s_level (queue_t *self, int priority)
{
    size_t lo = 0, hi = self->nlevels;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (self->levels [mid].priority < priority)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < self->nlevels && self->levels [lo].priority == priority)
        return &self->levels [lo];
    if (self->nlevels == self->levels_cap) {
        size_t cap = self->levels_cap ? self->levels_cap * 2 : 8;
        level_t *levels = realloc (self->levels, cap * sizeof *levels);
        if (!levels)
            return NULL;
        self->levels = levels;
        self->levels_cap = cap;
    }
    memmove (&self->levels [lo + 1], &self->levels [lo], (self->nlevels - lo) * sizeof (level_t));
    self->nlevels++;
    self->levels [lo] = (level_t) { .priority = priority };
    return &self->levels [lo];
}

static void
s_count_free (void **item)
{
    free (*item);
    *item = NULL;
}

queue_t *
queue_new (void)
{
    queue_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->delayed.by_time = true;
    self->nslots = 1024;
    self->slots = calloc (self->nslots, sizeof *self->slots);
    self->clients = zhashx_new ();
    if (!self->slots || !self->clients) {
        queue_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->clients, s_count_free);
    return self;
}

void
queue_destroy (queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    queue_t *self = *self_p;
    for (size_t i = 0; i < self->nlevels; i++)
        s_heap_free (&self->levels [i].ready);
    free (self->levels);
    s_heap_free (&self->delayed);
    free (self->slots);
    zhashx_destroy (&self->clients);
    free (self->changes);
    free (self);
    *self_p = NULL;
}

//  Room to record one more change; -1 when memory ran out (the change is
//  then refused, so a rollback can always undo what was done).
static int
s_reserve (queue_t *self)
{
    if (!self->recording || self->nchanges < self->changes_cap)
        return 0;
    size_t cap = self->changes_cap ? self->changes_cap * 2 : 64;
    change_t *changes = realloc (self->changes, cap * sizeof *changes);
    if (!changes)
        return -1;
    self->changes = changes;
    self->changes_cap = cap;
    return 0;
}

static void
s_record (queue_t *self, bool added, const entry_t *entry)
{
    if (self->recording)
        self->changes [self->nchanges++] = (change_t) { .added = added, .saved = *entry };
}

static int
s_add (queue_t *self, const entry_t *from)
{
    if (s_map_find (self, from->id) || s_reserve (self))
        return -1;
    entry_t *entry = malloc (sizeof *entry);
    if (!entry)
        return -1;
    *entry = *from;
    entry->live = true;
    level_t *level = entry->not_before > 0 ? NULL : s_level (self, entry->priority);
    heap_t *heap = entry->not_before > 0 ? &self->delayed : level ? &level->ready : NULL;
    if (!heap || s_map_put (self, entry)) {
        free (entry);
        return -1;
    }
    if (s_heap_push (heap, entry)) {
        s_map_delete (self, entry->id);
        free (entry);
        return -1;
    }
    (*entry->count)++;
    s_record (self, true, entry);
    return 0;
}

int
queue_add (queue_t *self, int64_t id, int priority, int64_t created_at, int64_t not_before,
           const char *client)
{
    const char *name = client ? client : "";
    int64_t *count = zhashx_lookup (self->clients, name);
    if (!count) {
        if (!(count = calloc (1, sizeof *count)))
            return -1;
        zhashx_insert (self->clients, name, count);
    }
    entry_t entry = { .id = id, .priority = priority, .created_at = created_at,
                      .not_before = not_before, .count = count };
    return s_add (self, &entry);
}

int
queue_remove (queue_t *self, int64_t id)
{
    entry_t *entry = s_map_find (self, id);
    if (!entry || s_reserve (self))
        return -1;
    s_record (self, false, entry);
    s_map_delete (self, id);
    entry->live = false;
    (*entry->count)--;
    return 0;
}

int64_t
queue_next (queue_t *self, int64_t now_ms)
{
    //  Jobs whose backoff has ended join their level
    entry_t *entry;
    while ((entry = s_heap_top (&self->delayed)) && entry->not_before <= now_ms) {
        level_t *level = s_level (self, entry->priority);
        if (!level || s_heap_push (&level->ready, entry))
            break;              // out of memory: it waits in the delayed heap
        s_heap_pop (&self->delayed);
    }
    int64_t best = 0, best_rank = INT64_MIN;
    for (size_t i = 0; i < self->nlevels; ) {
        entry_t *top = s_heap_top (&self->levels [i].ready);
        if (!top) {
            free (self->levels [i].ready.items);
            memmove (&self->levels [i], &self->levels [i + 1],
                     (self->nlevels - i - 1) * sizeof (level_t));
            self->nlevels--;
            continue;
        }
        int64_t rank = top->priority + (now_ms - top->created_at) / QUEUE_AGING_MS;
        if (rank > best_rank || (rank == best_rank && top->id < best)) {
            best = top->id;
            best_rank = rank;
        }
        i++;
    }
    return best;
}

int64_t
queue_since (queue_t *self, int64_t id)
{
    entry_t *entry = s_map_find (self, id);
    if (!entry)
        return 0;
    int64_t since = entry->not_before > entry->created_at ? entry->not_before : entry->created_at;
    return entry->since > since ? entry->since : since;
}

void
queue_set_since (queue_t *self, int64_t id, int64_t since_ms)
{
    entry_t *entry = s_map_find (self, id);
    if (entry)
        entry->since = since_ms;
}

int64_t
queue_count (queue_t *self, const char *client)
{
    int64_t *count = zhashx_lookup (self->clients, client ? client : "");
    return count ? *count : 0;
}

size_t
queue_size (queue_t *self)
{
    return self->live;
}

void
queue_begin (queue_t *self)
{
    self->nchanges = 0;
    self->recording = true;
}

void
queue_commit (queue_t *self)
{
    self->nchanges = 0;
    self->recording = false;
}

void
queue_rollback (queue_t *self)
{
    self->recording = false;
    while (self->nchanges) {
        change_t *change = &self->changes [--self->nchanges];
        if (change->added)
            queue_remove (self, change->saved.id);
        else
            s_add (self, &change->saved);
    }
}
