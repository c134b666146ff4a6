/*  hub - the gateway's one subscription to the broker's EVENTs, fanned out to every SSE stream  */
//  One thread reads the feed (client/feed.c) and appends each event's SSE
//  text to every stream's buffer. A stream's body comes from a content
//  reader that MHD calls: with bytes waiting it copies them, else it
//  suspends its connection and returns 0; the hub resumes it when it adds
//  bytes. So an idle stream costs no thread and no polling. A seq gap, or a
//  new subscription after the broker was away, sends every stream `resync`
//  (re-read what you show): the events between were lost.
#include "hub.h"
#include "cache.h"
#include "feed.h"
#include "mt/log.h"
#include "mt/util.h"

#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct s_stream_t s_stream_t;
struct s_stream_t {
    hub_t *hub;
    struct MHD_Connection *connection;
    char *buf;                  // SSE text not yet handed to MHD, from off to len
    size_t off, len, cap;
    bool suspended;             // its connection is suspended: resume it to send
    bool lost;                  // events were dropped (over HUB_MAX_PENDING): resync due
    s_stream_t *prev, *next;
};

struct hub_t {
    pthread_mutex_t lock;       // the streams and their buffers
    s_stream_t *streams;
    int n_streams;
    bool stopping;
    bool destroyed;             // hub_destroy ran: the last stream frees the hub
    pthread_t thread;
    bool started;
    char *endpoint, *cert, *broker_key;
    int timeout_ms;
    pool_t *pool;
    cache_t *cache;             // borrowed: dropped and flushed by the events
};

static void *s_run (void *arg);
static void s_broadcast (hub_t *self, const char *text, size_t len);
static void s_batch_event (zchunk_t *batch, json_t *body);
static void s_flush (hub_t *self, zchunk_t *batch);
static void s_append (s_stream_t *stream, const char *text, size_t len);
static void s_wake (s_stream_t *stream);
static ssize_t s_read (void *cls, uint64_t pos, char *buf, size_t max);
static void s_free (void *cls);
static void s_nap (hub_t *self, int ms);
static int64_t s_started_at (hub_t *self);
static zsock_t *s_monitor (feed_t *feed);
static bool s_disconnected (zsock_t *monitor);
static void s_forget (hub_t *self, json_t *body);

#define HUB_RESYNC "event: resync\ndata: {}\n\n"
#define HUB_PING   ": ping\n\n"

hub_t *
hub_new (const char *endpoint, const char *cert, const char *broker_key, int timeout_ms,
         pool_t *pool, cache_t *cache, char **cause)
{
    hub_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->endpoint = strdup (endpoint);
    self->cert = cert ? strdup (cert) : NULL;
    self->broker_key = broker_key ? strdup (broker_key) : NULL;
    self->timeout_ms = timeout_ms;
    self->pool = pool;
    self->cache = cache;
    //  A first feed here, so a key file that cannot be used stops the start
    feed_t *feed = feed_new (endpoint, cert, broker_key, cause);
    if (!feed) {
        hub_destroy (&self);
        return NULL;
    }
    feed_destroy (&feed);
    if (pthread_create (&self->thread, NULL, s_run, self)) {
        mt_fail (cause, "cannot start the event thread");
        hub_destroy (&self);
        return NULL;
    }
    self->started = true;
    return self;
}

void
hub_destroy (hub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    for (s_stream_t *stream = self->streams; stream; stream = stream->next)
        s_wake (stream);
    pthread_mutex_unlock (&self->lock);
    if (self->started)
        pthread_join (self->thread, NULL);
    free (self->endpoint);
    free (self->cert);
    free (self->broker_key);
    *self_p = NULL;
    //  Streams still listed belong to MHD's connections, which free them
    //  (s_free) once they have read their end: the last one frees the hub
    pthread_mutex_lock (&self->lock);
    self->destroyed = true;
    bool last = self->n_streams == 0;
    pthread_mutex_unlock (&self->lock);
    if (last) {
        pthread_mutex_destroy (&self->lock);
        free (self);
    }
}

struct MHD_Response *
hub_stream (hub_t *self, struct MHD_Connection *connection)
{
    s_stream_t *stream = calloc (1, sizeof *stream);
    if (!stream)
        return NULL;
    stream->hub = self;
    stream->connection = connection;
    struct MHD_Response *response = MHD_create_response_from_callback (
        MHD_SIZE_UNKNOWN, 4096, s_read, stream, s_free);
    if (!response) {
        free (stream);
        return NULL;
    }
    pthread_mutex_lock (&self->lock);
    stream->next = self->streams;
    if (self->streams)
        self->streams->prev = stream;
    self->streams = stream;
    self->n_streams++;
    //  The first bytes go out at once, so a client sees the stream open
    s_append (stream, HUB_PING, strlen (HUB_PING));
    pthread_mutex_unlock (&self->lock);
    return response;
}

int
hub_streams (hub_t *self)
{
    pthread_mutex_lock (&self->lock);
    int n = self->n_streams;
    pthread_mutex_unlock (&self->lock);
    return n;
}

//  MHD wants bytes of a stream: those waiting, or none and the connection
//  suspended until the hub has some.
static ssize_t
s_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    s_stream_t *stream = cls;
    hub_t *hub = stream->hub;
    ssize_t n = 0;
    pthread_mutex_lock (&hub->lock);
    if (stream->len > stream->off) {
        size_t take = stream->len - stream->off < max ? stream->len - stream->off : max;
        memcpy (buf, stream->buf + stream->off, take);
        stream->off += take;
        if (stream->off == stream->len)
            stream->off = stream->len = 0;
        n = (ssize_t) take;
    }
    else
    if (hub->stopping)
        n = MHD_CONTENT_READER_END_OF_STREAM;
    else {
        stream->suspended = true;
        MHD_suspend_connection (stream->connection);
    }
    pthread_mutex_unlock (&hub->lock);
    return n;
}

//  MHD is done with a stream (its client went, or the daemon stopped).
static void
s_free (void *cls)
{
    s_stream_t *stream = cls;
    hub_t *hub = stream->hub;
    pthread_mutex_lock (&hub->lock);
    if (stream->prev)
        stream->prev->next = stream->next;
    else
        hub->streams = stream->next;
    if (stream->next)
        stream->next->prev = stream->prev;
    hub->n_streams--;
    bool orphan = hub->n_streams == 0 && hub->destroyed;
    pthread_mutex_unlock (&hub->lock);
    free (stream->buf);
    free (stream);
    if (orphan) {
        pthread_mutex_destroy (&hub->lock);
        free (hub);
    }
}

//  Resume a suspended stream's connection (hub lock held).
static void
s_wake (s_stream_t *stream)
{
    if (stream->suspended) {
        stream->suspended = false;
        MHD_resume_connection (stream->connection);
    }
}

//  Add text to a stream's buffer (hub lock held); past HUB_MAX_PENDING the
//  stream loses it, and gets `resync` once it has drained to half.
static void
s_append (s_stream_t *stream, const char *text, size_t len)
{
    size_t pending = stream->len - stream->off;
    if (stream->lost && pending < HUB_MAX_PENDING / 2) {
        stream->lost = false;
        s_append (stream, HUB_RESYNC, strlen (HUB_RESYNC));
        pending = stream->len - stream->off;
    }
    if (pending + len > HUB_MAX_PENDING) {
        stream->lost = true;
        return;
    }
    if (stream->off > 0 && stream->len + len > stream->cap) {
        memmove (stream->buf, stream->buf + stream->off, pending);
        stream->off = 0;
        stream->len = pending;
    }
    if (stream->len + len > stream->cap) {
        size_t cap = stream->cap ? stream->cap : 1024;
        while (cap < stream->len + len)
            cap *= 2;
        char *buf = realloc (stream->buf, cap);
        if (!buf) {
            stream->lost = true;
            return;
        }
        stream->buf = buf;
        stream->cap = cap;
    }
    memcpy (stream->buf + stream->len, text, len);
    stream->len += len;
    s_wake (stream);
}

static void
s_broadcast (hub_t *self, const char *text, size_t len)
{
    pthread_mutex_lock (&self->lock);
    for (s_stream_t *stream = self->streams; stream; stream = stream->next)
        s_append (stream, text, len);
    pthread_mutex_unlock (&self->lock);
}

//  An EVENT body as one SSE message (its type, its seq as the id, its JSON)
//  added to batch, which streams get at once: one wake per stream per
//  batch, not per event.
static void
s_batch_event (zchunk_t *batch, json_t *body)
{
    const char *type = json_string_value (json_object_get (body, "type"));
    json_int_t seq = json_integer_value (json_object_get (body, "seq"));
    char *data = json_dumps (body, JSON_COMPACT | JSON_PRESERVE_ORDER
                                   | JSON_REAL_PRECISION (17));
    char *text = NULL;
    if (data && type && strspn (type, "abcdefghijklmnopqrstuvwxyz_") == strlen (type)
    &&  asprintf (&text, "event: %s\nid: %lld\ndata: %s\n\n", type, (long long) seq, data) > 0)
        zchunk_extend (batch, text, strlen (text));
    free (text);
    free (data);
}

//  Send the batch to every stream and empty it.
static void
s_flush (hub_t *self, zchunk_t *batch)
{
    if (zchunk_size (batch) > 0)
        s_broadcast (self, (const char *) zchunk_data (batch), zchunk_size (batch));
    zchunk_set (batch, NULL, 0);
}

static bool
s_stopping (hub_t *self)
{
    pthread_mutex_lock (&self->lock);
    bool stopping = self->stopping;
    pthread_mutex_unlock (&self->lock);
    return stopping;
}

//  Sleep ms, waking early when the hub stops.
static void
s_nap (hub_t *self, int ms)
{
    for (int slept = 0; slept < ms && !s_stopping (self); slept += 100)
        nanosleep (&(struct timespec) { 0, 100 * 1000000L }, NULL);
}

//  The broker's started_at (STATS), or 0 when it does not say. A broker that
//  restarted between two renewals answers them both, but its seq began
//  again: the events of the gap are lost without a seq to show it.
static int64_t
s_started_at (hub_t *self)
{
    char *cause = NULL;
    mt_msg_t *reply = NULL;
    mt_msg_t *request = mt_msg_new ("STATS");
    conn_t *conn = pool_get (self->pool, &cause);
    int64_t started = 0;
    if (conn && conn_call (conn, &request, "STATS", &reply, &cause) == 0)
        started = json_integer_value (json_object_get (mt_msg_body (reply), "started_at"));
    mt_msg_destroy (&request);
    mt_msg_destroy (&reply);
    pool_put (self->pool, &conn);
    free (cause);
    return started;
}

//  Subscribe (or renew). Returns 0, or -1 having marked the broker down
//  (no answer: the feed is dropped, so a fresh DEALER tries next) or noted
//  a refusal.
static int
s_subscribe (hub_t *self, feed_t **feed_p)
{
    char *cause = NULL;
    if (!*feed_p && !(*feed_p = feed_new (self->endpoint, self->cert, self->broker_key,
                                          &cause))) {
        mt_error ("gateway: events: %s", cause);
        free (cause);
        return -1;
    }
    if (feed_subscribe (*feed_p, self->timeout_ms, &cause) == 0) {
        pool_set_up (self->pool, true);
        return 0;
    }
    if (feed_timed_out (*feed_p)) {
        pool_set_up (self->pool, false);
        feed_destroy (feed_p);
    }
    else {
        pool_set_up (self->pool, true);
        mt_warn ("gateway: events: %s", cause);
    }
    free (cause);
    return -1;
}

//  A monitor of feed's socket, to learn at once that the broker's connection
//  dropped (a restarted broker has lost the subscription and its seq); NULL
//  when libzmq cannot make one.
static zsock_t *
s_monitor (feed_t *feed)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://mtgateway-hub-%p", (void *) feed);
    if (zmq_socket_monitor (zsock_resolve (feed_socket (feed)), endpoint,
                            ZMQ_EVENT_DISCONNECTED) != 0)
        return NULL;
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    if (monitor && zsock_connect (monitor, "%s", endpoint) != 0)
        zsock_destroy (&monitor);
    return monitor;
}

//  True when the monitor reports the connection dropped (read without waiting).
static bool
s_disconnected (zsock_t *monitor)
{
    bool dropped = false;
    while (monitor && zsock_events (monitor) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (monitor);
        zframe_t *frame = msg ? zmsg_first (msg) : NULL;
        if (frame && zframe_size (frame) >= 2) {
            uint16_t event;
            memcpy (&event, zframe_data (frame), sizeof event);
            dropped |= event == ZMQ_EVENT_DISCONNECTED;
        }
        zmsg_destroy (&msg);
    }
    return dropped;
}

//  A job's event: its cached answer is old now.
static void
s_forget (hub_t *self, json_t *body)
{
    json_t *id = json_object_get (body, "job_id");
    if (self->cache && json_is_integer (id))
        cache_drop (self->cache, json_integer_value (id));
}

static void
s_cache_flush (hub_t *self, bool enabled)
{
    if (self->cache)
        cache_flush (self->cache, enabled);
}

static void *
s_run (void *arg)
{
    hub_t *self = arg;
    feed_t *feed = NULL;
    zsock_t *monitor = NULL;
    bool subscribed = false, ever = false;
    int64_t renew_at = 0, ping_at = mt_mono_ms () + HUB_PING_MS, started = 0;
    int64_t batch_at = 0;       // when the batch's first event came, 0 = empty
    zchunk_t *batch = zchunk_new (NULL, 0);
    while (!s_stopping (self)) {
        int64_t now = mt_mono_ms ();
        //  A request that timed out marks the broker down: check it now
        bool check = subscribed && (now >= renew_at || !pool_up (self->pool));
        if (!subscribed || check) {
            bool was = subscribed;
            subscribed = s_subscribe (self, &feed) == 0;
            if (!feed)
                zsock_destroy (&monitor);
            if (!subscribed) {
                s_cache_flush (self, false);
                s_nap (self, HUB_RETRY_MS);
                continue;
            }
            if (!monitor)
                monitor = s_monitor (feed);
            renew_at = mt_mono_ms () + HUB_RENEW_MS;
            int64_t now_started = s_started_at (self);
            bool restarted = started && now_started && now_started != started;
            if (now_started)
                started = now_started;
            s_flush (self, batch);
            batch_at = 0;
            if (!was || restarted)
                s_cache_flush (self, true);
            if (ever && (!was || restarted)) {
                mt_info ("gateway: events: subscribed again%s; streams resync",
                         restarted ? " (the broker restarted)" : "");
                s_broadcast (self, HUB_RESYNC, strlen (HUB_RESYNC));
            }
            ever = true;
        }
        if (s_disconnected (monitor)) {
            //  Until subscribed again, events may be missed: keep nothing
            s_cache_flush (self, false);
            s_flush (self, batch);
            batch_at = 0;
            subscribed = false;
            continue;
        }
        bool gap = false;
        char *cause = NULL;
        //  A batch is what the feed holds now: it goes once the feed is
        //  drained (or HUB_BATCH_MS after its first event, or at
        //  HUB_BATCH_MAX), never waiting for more to come
        json_t *body = feed_next (feed, batch_at ? 0 : HUB_IDLE_MS, &gap, &cause);
        if (body) {
            if (gap) {
                s_cache_flush (self, true);
                zchunk_extend (batch, HUB_RESYNC, strlen (HUB_RESYNC));
            }
            s_forget (self, body);
            s_batch_event (batch, body);
            json_decref (body);
            if (!batch_at)
                batch_at = mt_mono_ms ();
        }
        if (batch_at && (!body || mt_mono_ms () >= batch_at + HUB_BATCH_MS
                         || zchunk_size (batch) >= HUB_BATCH_MAX)) {
            s_flush (self, batch);
            batch_at = 0;
        }
        if (cause) {
            mt_warn ("gateway: events: %s", cause);
            free (cause);
            subscribed = false;
        }
        if (mt_mono_ms () >= ping_at) {
            s_broadcast (self, HUB_PING, strlen (HUB_PING));
            ping_at = mt_mono_ms () + HUB_PING_MS;
        }
    }
    s_cache_flush (self, false);
    if (feed && subscribed)
        feed_unsubscribe (feed);
    zsock_destroy (&monitor);
    feed_destroy (&feed);
    zchunk_destroy (&batch);
    return NULL;
}
