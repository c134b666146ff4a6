/*  cache - the gateway's rendered GET /api/v1/jobs/{id} answers, kept until that job's next event  */
#ifndef MT_GW_CACHE_H_INCLUDED
#define MT_GW_CACHE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_MAX_ENTRIES   4096                // jobs kept; the least recently read goes
#define CACHE_MAX_BYTES     ((size_t) 64 << 20) // bytes of JSON text kept

typedef struct cache_t cache_t;

//  An empty cache of at most max_entries answers and max_bytes of text,
//  disabled until cache_flush (self, true). NULL when out of memory.
cache_t *cache_new (size_t max_entries, size_t max_bytes);
void cache_destroy (cache_t **self_p);

//  Take before asking the broker for a job; give to cache_put with the
//  answer. 0 while the cache is disabled (then cache_put keeps nothing).
uint64_t cache_ticket (cache_t *self);
//  Keep text (copied) as job id's answer, unless the job was dropped, or
//  everything flushed, since ticket was taken: then the answer may be older
//  than an event already seen. Returns true when kept.
bool cache_put (cache_t *self, int64_t id, uint64_t ticket, const char *text, size_t len);
//  A copy of job id's answer (caller frees), its length in *len; NULL when
//  none is kept.
char *cache_get (cache_t *self, int64_t id, size_t *len);

//  An event about job id arrived: forget its answer.
void cache_drop (cache_t *self, int64_t id);
//  Forget every answer (a resync, a seq gap, the broker away or restarted);
//  enabled false stops keeping any until a later cache_flush (self, true).
void cache_flush (cache_t *self, bool enabled);

//  Answers served and asked for in vain since the start; answers kept now.
void cache_counts (cache_t *self, uint64_t *hits, uint64_t *misses, size_t *entries);

#endif
