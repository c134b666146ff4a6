/*  reactor - what the broker's files share: its state, a peer, and the outbox they write to  */
//  Private to broker/: broker.c runs the reactor and owns the outbox,
//  clients.c and workers.c answer the two sockets, chunks.c moves blobs on
//  either. A handler never sends: what it queues here leaves once its
//  batch's commit is durable (broker.c's opening comment).
#ifndef MT_REACTOR_H_INCLUDED
#define MT_REACTOR_H_INCLUDED

#include "auth.h"
#include "broker.h"
#include "events.h"
#include "fleet.h"
#include "jobs.h"
#include "stats.h"
#include "store.h"
#include "mt/blob.h"
#include "mt/log.h"
#include "mt/msg.h"

#include <czmq.h>

typedef struct writer_t writer_t;

struct broker_t {
    broker_config_t config;
    zsock_t *clients;
    zsock_t *workers;
    zloop_t *loop;
    store_t *store;
    jobs_t *jobs;               // the job's life, and the queue in memory
    struct sweeps_t *sweeps;    // the sweeps and their trials' rules (sweeps.c)
    blob_store_t *blobs;
    fleet_t *fleet;
    zlistx_t *outbox;           // outgoing_t of the open transaction
    zlistx_t *pending;          // outgoing_t committed, let go once the sync in flight ends
    zlistx_t *durable;          // outgoing_t of the sync that just ended, being let go
    writer_t *writers;          // workers whose messages wrote in the open transaction,
    size_t nwriters;            //   told ERROR storage if it fails
    size_t writers_cap;
    zactor_t *syncer;           // the sync thread: makes commits durable
    bool syncing;               // a sync is in flight; batches meanwhile join the next commit
    int64_t tx_started;         // monotonic ms the open transaction began
    int defer_timer;            // the zloop timer that commits a waiting transaction; -1: none
    int64_t last_tick;          // monotonic ms of the last liveness check
    int lock_fd;                // DB.lock, held (flock) while the broker runs; -1 when not
    bool fatal;                 // the database could not be made durable: stop
    zlistx_t *doomed;           // doomed_t: superseded blobs, deleted after a delay
    int64_t started;            // monotonic ms
    bool recovered;             // jobs left running by a previous broker were handled
    bool recovering;            //   in the open transaction
    char *clients_endpoint;
    char *workers_endpoint;
    void *chunk;                // BROKER_CHUNK_MAX bytes for FETCH replies
    auth_t *auth;               // CurveZMQ, with --keys; NULL otherwise
    stats_t *stats;             // the figures STATS answers
    events_t *events;           // the clients that subscribed to EVENTs
    int64_t pruned_at;          // monotonic ms of the last --keep-days prune (retention.c)
    int64_t orphans_at;         // ... and of the last look for blobs nothing names
};


//  The peer and request a handler is answering.
typedef struct {
    zsock_t *sock;              // the socket it spoke on
    const void *identity;       // its routing id (borrowed from the frames)
    size_t identity_size;
    int64_t req;                // -1 when the request had none
    fleet_worker_t *worker;     // workers socket: the sender, NULL before HELLO
    char user [64];             // the peer's public key (Z85) with --keys, else "local"
} peer_t;

typedef void (handler_fn) (broker_t *self, peer_t *peer, mt_msg_t *msg);
typedef struct {
    const char *command;
    handler_fn *handler;
} handler_t;

//  The commands of each socket, {NULL, NULL} at the end.
extern const handler_t clients_handlers [];
extern const handler_t workers_handlers [];

//  --- The outbox (broker.c) ------------------------------------------------------

//  Queue a message (taken) to peer for after the commit; the peer's req is added.
void broker_send (broker_t *self, peer_t *peer, mt_msg_t **msg_p);
//  Send a reply (taken) that tells of nothing the open transaction wrote or
//  read, only of the blob store's files, which are durable on their own: it
//  leaves at once, unless a message to the same peer waits for a commit or
//  a sync (it must not overtake one), and then it is queued as broker_send.
void broker_send_now (broker_t *self, peer_t *peer, mt_msg_t **msg_p);
//  Queue command {job, attempt} to a worker the broker speaks to first.
void broker_tell (broker_t *self, fleet_worker_t *worker, const char *command, int64_t job,
                  int attempt);
//  Queue an ERROR with code and a formatted text to peer.
void broker_error (broker_t *self, peer_t *peer, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
//  A log line that announces a change: written once the change is durable,
//  never when it is rolled back. Nothing is formatted when level is off.
void broker_announce (broker_t *self, mt_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
//  A blob the transaction superseded: deleted later, if it commits.
void broker_doom (broker_t *self, const char *hash);
//  Queue an EVENT (taken) for the subscribers, sent once the commit is
//  durable (events_send gives it its seq); dropped if the commit fails.
void broker_event (broker_t *self, mt_msg_t **event_p);

//  --- Events for the subscribers (events.c); each does nothing without one ---------

//  Job id changed state: a "state" event with its map as it is now.
void events_job (broker_t *self, int64_t id);
//  Job id, in state before, was deleted: a "deleted" event.
void events_deleted (broker_t *self, int64_t id, job_state_t state);
//  A PROGRESS point p of (job, attempt) was recorded: a "progress" event.
void events_progress (broker_t *self, int64_t job, int attempt, const store_progress_t *p);
//  A worker connected, was lost, or became idle or busy (what): a "worker" event.
void events_worker (broker_t *self, fleet_worker_t *worker, const char *what);
//  SUBSCRIBE and UNSUBSCRIBE, on the clients socket.
void events_client_subscribe (broker_t *self, peer_t *peer, mt_msg_t *msg);
void events_client_unsubscribe (broker_t *self, peer_t *peer, mt_msg_t *msg);

//  A job's map as the client with key user may see it (as LIST shows it):
//  changed in place. 0, or -1 out of memory (clients.c).
int clients_show_job (broker_t *self, const char *user, json_t *job);

//  --- Blobs in chunks, on either socket (chunks.c) -------------------------------

//  UPLOAD: one chunk of a blob, in order; answered UPLOADED or ERROR.
void chunks_upload (broker_t *self, peer_t *peer, mt_msg_t *msg);
//  A CHUNK reply: length bytes of blob hash at offset; job > 0 names the job
//  whose model it is. ERROR not_found when there is no such blob or offset.
void chunks_send (broker_t *self, peer_t *peer, const char *hash, int64_t offset,
                  int64_t length, int64_t job);

//  --- The broker's blobs (blobs.c) -------------------------------------------------
//  A blob is in the blob folder (uploaded in chunks) or, when small, in the
//  database (a model a DONE carried, BROKER_SMALL_BLOB_MAX bytes at most);
//  everything that asks for a blob by hash asks here, and finds either.

//  True when blob hash is stored, either way; *size (if not NULL) gets its size.
bool blobs_has (broker_t *self, const char *hash, int64_t *size);
//  Up to len bytes of blob hash from offset into buf (*got: how many).
//  0, or -1 with *cause.
int blobs_read (broker_t *self, const char *hash, int64_t offset, void *buf, size_t len,
                size_t *got, char **cause);
//  Keep size bytes at data as blob hash in the open transaction (durable
//  with its commit); the caller has checked the hash. 0, or -1 (the batch
//  fails).
int blobs_keep_small (broker_t *self, const char *hash, const void *data, size_t size);
//  Remove blob hash, wherever it is (the database's copy in the open
//  transaction). 0 when it was removed, -1 when it was not there or could not be.
int blobs_remove (broker_t *self, const char *hash);

//  --- Retention (retention.c) ------------------------------------------------------

//  With --keep-days, every BROKER_PRUNE_EVERY_MS: prune at most
//  BROKER_PRUNE_JOBS ended jobs older than that (history, checkpoints);
//  at start and every BROKER_ORPHANS_EVERY_MS, doom the blobs stored
//  before then that no job or sweep names.
void retention_tick (broker_t *self, int64_t now);

//  --- Workers: dispatch and liveness (workers.c) ---------------------------------

//  Start queued jobs on idle workers: one job each, highest priority first,
//  then oldest; no prefetch.
void workers_dispatch (broker_t *self);
//  The liveness tick's verdict on worker w at monotonic now: lost, late with
//  a stop, past its time limit, stalled, or well (it gets a HEARTBEAT).
void workers_check (broker_t *self, fleet_worker_t *w, int64_t now, int64_t dead_after);
//  Jobs a previous broker left running that no worker claimed are lost.
void workers_recover (broker_t *self);

#endif
