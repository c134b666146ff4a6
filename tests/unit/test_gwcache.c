/*  test_gwcache - the gateway's job-answer cache: hits, drops, stale puts refused, flush, LRU bounds  */
#include "testutil.h"
#include "gateway/cache.h"

static void
s_check_text (cache_t *cache, int64_t id, const char *want)
{
    size_t len = 0;
    char *got = cache_get (cache, id, &len);
    if (!want) {
        CHECK_MSG (!got, "job %lld should not be cached", (long long) id);
        return;
    }
    CHECK_MSG (got, "job %lld should be cached", (long long) id);
    CHECK (len == strlen (want) && memcmp (got, want, len) == 0);
    free (got);
}

//  Disabled until the first flush (true); a put then a get returns the bytes
static void
test_enable_put_get (void)
{
    cache_t *cache = cache_new (8, 1 << 20);
    CHECK (cache_ticket (cache) == 0);
    CHECK (!cache_put (cache, 1, cache_ticket (cache), "{\"id\":1}", 8));
    s_check_text (cache, 1, NULL);
    cache_flush (cache, true);
    uint64_t ticket = cache_ticket (cache);
    CHECK (ticket != 0);
    CHECK (cache_put (cache, 1, ticket, "{\"id\":1}", 8));
    s_check_text (cache, 1, "{\"id\":1}");
    CHECK (cache_put (cache, 1, cache_ticket (cache), "{\"id\":1,\"x\":2}", 14));
    s_check_text (cache, 1, "{\"id\":1,\"x\":2}");
    uint64_t hits, misses;
    size_t entries;
    cache_counts (cache, &hits, &misses, &entries);
    CHECK (hits == 2 && misses == 1 && entries == 1);
    cache_flush (cache, false);
    s_check_text (cache, 1, NULL);
    CHECK (cache_ticket (cache) == 0);
    cache_destroy (&cache);
    cache_destroy (&cache);
    CHECK (cache == NULL);
}

//  An event dropping a job after the ticket was taken refuses the answer
//  fetched before it; another job's drop in another slot does not
static void
test_stale_put (void)
{
    cache_t *cache = cache_new (8, 1 << 20);
    cache_flush (cache, true);
    uint64_t ticket = cache_ticket (cache);
    cache_drop (cache, 5);
    CHECK (!cache_put (cache, 5, ticket, "old", 3));
    s_check_text (cache, 5, NULL);
    CHECK (cache_put (cache, 6, ticket, "six", 3));
    s_check_text (cache, 6, "six");
    cache_drop (cache, 6);
    s_check_text (cache, 6, NULL);
    //  A ticket taken after the drop may fill again
    CHECK (cache_put (cache, 5, cache_ticket (cache), "new", 3));
    s_check_text (cache, 5, "new");
    //  A flush after the ticket refuses every answer fetched before it
    ticket = cache_ticket (cache);
    cache_flush (cache, true);
    CHECK (!cache_put (cache, 7, ticket, "seven", 5));
    s_check_text (cache, 5, NULL);
    cache_destroy (&cache);
}

//  At most max_entries and max_bytes; the least recently read goes first
static void
test_bounds (void)
{
    cache_t *cache = cache_new (3, 10);
    cache_flush (cache, true);
    CHECK (cache_put (cache, 1, cache_ticket (cache), "aa", 2));
    CHECK (cache_put (cache, 2, cache_ticket (cache), "bb", 2));
    CHECK (cache_put (cache, 3, cache_ticket (cache), "cc", 2));
    s_check_text (cache, 1, "aa");      // 1 is now the most recent
    CHECK (cache_put (cache, 4, cache_ticket (cache), "dd", 2));
    s_check_text (cache, 2, NULL);      // 2 was the least recent
    s_check_text (cache, 1, "aa");
    s_check_text (cache, 3, "cc");
    s_check_text (cache, 4, "dd");
    //  Bytes: 6 held, 8 more must push out the older ones
    CHECK (cache_put (cache, 9, cache_ticket (cache), "12345678", 8));
    size_t entries;
    uint64_t hits, misses;
    cache_counts (cache, &hits, &misses, &entries);
    CHECK (entries == 2);
    s_check_text (cache, 9, "12345678");
    s_check_text (cache, 4, "dd");
    CHECK (!cache_put (cache, 10, cache_ticket (cache), "01234567890", 11));
    //  Many ids through a small cache: never more than its bound
    for (int64_t id = 100; id < 1100; id++)
        CHECK (cache_put (cache, id, cache_ticket (cache), "x", 1));
    cache_counts (cache, &hits, &misses, &entries);
    CHECK (entries == 3);
    s_check_text (cache, 1099, "x");
    s_check_text (cache, 100, NULL);
    cache_destroy (&cache);
}

int
main (void)
{
    test_enable_put_get ();
    test_stale_put ();
    test_bounds ();
    printf ("test_gwcache: OK\n");
    return 0;
}
