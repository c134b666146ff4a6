/*  broker - the reactor: two ROUTER sockets read in batches, dispatched, committed, then sent  */
#ifndef MT_BROKER_H_INCLUDED
#define MT_BROKER_H_INCLUDED

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define BROKER_HEARTBEAT_MS   1000      // heartbeat interval, ms
#define BROKER_LIVENESS       3         // missed heartbeats before a peer is dead
#define BROKER_STOP_GRACE_MS  10000     // a worker has this long to confirm a stop, ms
#define BROKER_BATCH          16        // messages read per turn of the reactor: a short
                                        // turn sees a finished sync soon
#define BROKER_CHUNK_MAX      (1 << 20) // bytes per FETCH reply at most
#define BROKER_UPLOAD_IDLE_MS 60000     // an unfinished upload idle this long is dropped
#define BROKER_MAX_QUEUED     10000     // default --max-queued: queued jobs per client
#define BROKER_PEER_HWM       256       // messages queued per peer before backpressure
#define BROKER_STALL_MS       600000    // default --stall-timeout: no step for this long, ms
#define BROKER_SMALL_BLOB_MAX (128 * 1024)  // a model a DONE carries, kept in the database, at most
#define BROKER_DOOM_DELAY_MS  30000     // a superseded checkpoint lives this long, ms
#define BROKER_PRUNE_EVERY_MS 60000     // --keep-days: how often ended jobs are pruned, ms
#define BROKER_PRUNE_JOBS     100       // ... and how many at most per tick
#define BROKER_ORPHANS_EVERY_MS 3600000 // --keep-days: how often unnamed blobs are looked for, ms
#define BROKER_DEFER_MS       100       // writes nobody is told of wait this long at most
                                        // for a commit that has something to send, ms

typedef struct {
    const char *clients;        // endpoint for clients
    const char *workers;        // endpoint for workers
    const char *db;             // SQLite database file
    const char *data_dir;       // blobs: datasets, checkpoints, models
    int heartbeat_ms;
    int liveness;
    int64_t max_queued;         // queued jobs per client (per key; all keyless clients share)
    int max_workers;            // connected workers at most
    int64_t stall_ms;           // a running job whose step has not moved this long fails; 0 = off
    int keep_days;              // ended jobs' history and checkpoints kept this long; 0 = forever
    int64_t doom_delay_ms;      // a doomed blob waits this long before it is removed
    bool insecure;              // allow a non-loopback bind without keys
    const char *keys;           // CurveZMQ keys folder (broker_secret, clients/, workers/), or NULL
    volatile sig_atomic_t *hups;    // SIGHUP count: a change reloads the keys; may be NULL
} broker_config_t;

typedef struct broker_t broker_t;

//  Fill config with the defaults.
void broker_config_init (broker_config_t *config);

//  Bind both sockets, then lock and open (create, migrate) the store and the
//  blobs: a broker that cannot listen writes nothing. Returns a new broker,
//  or NULL with *cause.
broker_t *broker_new (const broker_config_t *config, char **cause);
void broker_destroy (broker_t **self_p);

//  Run the reactor until interrupted (SIGINT, SIGTERM). Returns 0, or 1
//  when it stopped because the database could not be made durable.
int broker_run (broker_t *self);

//  The broker's job store (borrowed), so a test can reach its fault seam.
struct store_t *broker_store (broker_t *self);

//  The endpoints actually bound (after ephemeral ports are resolved); borrowed.
const char *broker_clients_endpoint (broker_t *self);
const char *broker_workers_endpoint (broker_t *self);

#endif
