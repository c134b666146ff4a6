/*  broker - the reactor: reads both sockets, dispatches to handlers, commits, then sends  */
//  A turn of the reactor reads up to BROKER_BATCH messages into one
//  transaction that spans the store, the queue (jobs) and the fleet, hands
//  each to its handler, starts queued jobs on idle workers, and commits.
//  Handlers never send or log a change themselves: what they produce waits
//  in the outbox (messages, the log lines that announce changes, blobs to
//  delete), and the outbox is let go only by the commit's outcome:
//  - committed and durable (after the sync thread's fdatasync): all of it;
//  - commit failed: the store, queue and fleet roll back together; replies
//    composed after the transaction's first write become ERROR storage,
//    messages to workers composed then are dropped, the announcements are
//    dropped, and every worker whose message tried to write hears ERROR
//    storage, so it sends that message again.
//  Whether a message waits for a write is decided here, when it is queued,
//  from the store itself; no handler can forget to say so.
#include "reactor.h"
#include "sweeps.h"
#include "mt/blob.h"
#include "mt/log.h"
#include "mt/msg.h"
#include "mt/spec.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

//  A worker whose message wrote: its routing id.
typedef struct writer_t {
    size_t size;
    byte identity [FLEET_MAX_IDENTITY];
} writer_t;

//  A superseded blob. Blobs are stored by content, so an identical job may
//  have uploaded the same bytes and not yet named them: deletion waits.
typedef struct {
    char hash [65];
    int64_t since;              // monotonic ms
} doomed_t;

//  What a batch produced, let go by its commit's outcome.
typedef enum {
    OUT_MESSAGE,                // a message to a peer
    OUT_NOTE,                   // a log line announcing a change
    OUT_DOOM,                   // a superseded blob, deleted later
    OUT_EVENT                   // an EVENT for the subscribers
} out_kind_t;

typedef struct {
    out_kind_t kind;
    zsock_t *sock;              // OUT_MESSAGE: the socket, and the peer's routing id
    size_t identity_size;
    byte identity [FLEET_MAX_IDENTITY];
    mt_msg_t *msg;              //   encoded as it leaves
    int64_t req;                //   the client's req, for an ERROR storage in its place
    bool after_write;           //   queued after the transaction's first write
    mt_log_level_t level;       // OUT_NOTE
    char *text;                 // OUT_NOTE: the line; OUT_DOOM: the hash
} outgoing_t;

static int s_on_clients (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_workers (zloop_t *loop, zsock_t *sock, void *arg);
static int s_on_timer (zloop_t *loop, int timer_id, void *arg);
static int s_on_synced (zloop_t *loop, zsock_t *sock, void *arg);
static void s_begin (broker_t *self);
static void s_end (broker_t *self, bool force);
static bool s_may_defer (broker_t *self);
static int s_on_defer (zloop_t *loop, int timer_id, void *arg);
static bool s_commit (broker_t *self, bool *wrote);
static void s_sync (broker_t *self);
static void s_flush (broker_t *self, bool committed);
static void s_flush_list (broker_t *self, zlistx_t *list, bool committed);
static void s_flush_one (broker_t *self, outgoing_t *out, bool committed);
static void s_writer (broker_t *self, peer_t *peer);
static void s_tell_writers (broker_t *self);
static void s_reap (broker_t *self);
static int s_lock_db (broker_t *self, const char *db, char **cause);
static bool s_is_loopback (const char *endpoint);
static int s_ipc_free (const char *endpoint, char **cause);
static void s_syncer (zsock_t *pipe, void *store);
static int s_sync_reply (zsock_t *sock);
static void s_finish (broker_t *self);
static void s_move (zlistx_t *from, zlistx_t *to);
static bool s_waits_for (zlistx_t *list, const peer_t *peer);
static void s_outgoing_free (void **item);
static void s_doomed_free (void **item);
static int s_watch (broker_t *self, char **cause);
static void s_on_change (void *arg, const job_change_t *change);

void
broker_config_init (broker_config_t *config)
{
    memset (config, 0, sizeof *config);
    config->clients = "tcp://127.0.0.1:5555";
    config->workers = "tcp://127.0.0.1:5556";
    config->db = "mt.db";
    config->data_dir = "mt-data";
    config->heartbeat_ms = BROKER_HEARTBEAT_MS;
    config->liveness = BROKER_LIVENESS;
    config->stall_ms = BROKER_STALL_MS;
    config->max_queued = BROKER_MAX_QUEUED;
    config->max_workers = FLEET_MAX_WORKERS;
    config->doom_delay_ms = BROKER_DOOM_DELAY_MS;
}

//  A ROUTER bound to endpoint; with auth, a CURVE server admitting the keys
//  of domain only (its handshake settings must precede the bind).
static zsock_t *
s_bind (auth_t *auth, const char *domain, const char *endpoint, char **bound, char **cause)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        mt_fail (cause, "cannot create a socket");
        return NULL;
    }
    zsock_set_maxmsgsize (sock, MT_MAX_MESSAGE);
    //  Per peer: a peer that sends faster than the broker reads is held back
    //  by ZeroMQ at this many messages, so no peer can fill the broker's memory
    zsock_set_sndhwm (sock, 100000);
    zsock_set_rcvhwm (sock, BROKER_PEER_HWM);
    zsock_set_linger (sock, 0);
    if (auth)
        auth_server (auth, sock, domain);
    if (s_ipc_free (endpoint, cause)) {
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        int err = zmq_errno ();
        mt_fail (cause, "cannot bind %s: %s%s", endpoint, zmq_strerror (err),
                 err == EADDRINUSE ? " (another process listens there: stop it, or give"
                 " mtbroker --clients or --workers another port); nothing was written" : "");
        zsock_destroy (&sock);
        return NULL;
    }
    *bound = zsock_last_endpoint (sock);
    return sock;
}

//  0 when endpoint may be bound as far as its socket file goes: not ipc://,
//  no file at its path, or a socket file nobody listens on (a broker killed
//  with -9 leaves one; the bind replaces it). libzmq's bind unlinks the path
//  first, so a live broker's socket file would be taken from it: -1, with
//  *cause, when a process accepts there or the path is not a socket.
static int
s_ipc_free (const char *endpoint, char **cause)
{
    const char *path = endpoint + strlen ("ipc://");
    struct stat st;
    if (strncmp (endpoint, "ipc://", strlen ("ipc://")) != 0
    ||  *path == '@' || streq (path, "*")        //  abstract or a new temp path: no file
    ||  lstat (path, &st) < 0)
        return 0;
    if (!S_ISSOCK (st.st_mode)) {
        mt_fail (cause, "cannot bind %s: the path exists and is not a socket: remove it, or give"
                 " mtbroker --clients or --workers another path; nothing was written", endpoint);
        return -1;
    }
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof addr.sun_path) {
        mt_fail (cause, "cannot bind %s: the path is too long", endpoint);
        return -1;
    }
    strcpy (addr.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        mt_fail (cause, "cannot bind %s: cannot make a socket to check it: %s", endpoint,
                 strerror (errno));
        return -1;
    }
    //  Non-blocking: a listener with a full backlog answers EAGAIN, and is alive
    int rc = connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0 ? errno : 0;
    close (fd);
    if (rc == ECONNREFUSED || rc == ENOENT)
        return 0;               //  stale, or gone since the lstat
    if (rc == 0 || rc == EAGAIN || rc == EINPROGRESS)
        mt_fail (cause, "cannot bind %s: another process listens there (stop it, or give"
                 " mtbroker --clients or --workers another path); nothing was written",
                 endpoint);
    else
        mt_fail (cause, "cannot bind %s: cannot tell whether a process listens there (%s):"
                 " check the path, or give mtbroker --clients or --workers another path;"
                 " nothing was written", endpoint, strerror (rc));
    return -1;
}

static zlistx_t *
s_outlist (void)
{
    zlistx_t *list = zlistx_new ();
    if (list)
        zlistx_set_destructor (list, s_outgoing_free);
    return list;
}

broker_t *
broker_new (const broker_config_t *config, char **cause)
{
    bool public = !s_is_loopback (config->clients) || !s_is_loopback (config->workers);
    if (public && !config->keys && !config->insecure) {
        mt_fail (cause, "refusing to bind a non-loopback address without keys: a job port runs"
                 " code on every worker; bind 127.0.0.1, give --keys DIR (README, Security),"
                 " or pass --insecure on a trusted network");
        return NULL;
    }
    broker_t *self = calloc (1, sizeof *self);
    if (!self) {
        mt_fail (cause, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->lock_fd = -1;
    self->defer_timer = -1;
    self->chunk = malloc (BROKER_CHUNK_MAX);
    self->fleet = fleet_new ();
    self->outbox = s_outlist ();
    self->pending = s_outlist ();
    self->durable = s_outlist ();
    self->doomed = zlistx_new ();
    if (self->doomed)
        zlistx_set_destructor (self->doomed, s_doomed_free);
    self->started = zclock_mono ();
    //  The sockets are bound first: a broker that cannot listen (a port
    //  taken, a bad endpoint) stops before it creates, locks or migrates
    //  anything on disk. What peers send meanwhile waits in ZeroMQ.
    if (!self->chunk || !self->fleet || !self->outbox || !self->pending || !self->durable
    ||  !self->doomed
    ||  (config->keys && !(self->auth = auth_new (config->keys, config->hups, cause)))
    ||  !(self->clients = s_bind (self->auth, AUTH_CLIENTS, config->clients,
                                  &self->clients_endpoint, cause))
    ||  !(self->workers = s_bind (self->auth, AUTH_WORKERS, config->workers,
                                  &self->workers_endpoint, cause))
    ||  s_lock_db (self, config->db, cause)
    ||  !(self->store = store_open (config->db, cause))
    ||  !(self->jobs = jobs_new (self->store, cause))
    ||  s_watch (self, cause)
    ||  !(self->events = events_new ())
    ||  !(self->sweeps = sweeps_new (self, cause))
    ||  !(self->syncer = zactor_new (s_syncer, self->store))
    ||  !(self->blobs = blob_store_new (config->data_dir, cause))) {
        broker_destroy (&self);
        return NULL;
    }
    if (public && !config->keys)
        mt_warn ("broker: --insecure: listening beyond loopback with no authentication; anyone"
                 " who reaches these ports can submit jobs or pose as a worker");
    self->loop = zloop_new ();
    zloop_reader (self->loop, self->clients, s_on_clients, self);
    zloop_reader (self->loop, self->workers, s_on_workers, self);
    zloop_reader (self->loop, zactor_sock (self->syncer), s_on_synced, self);
    zloop_timer (self->loop, (size_t) config->heartbeat_ms, 0, s_on_timer, self);
    if (self->auth)
        auth_attach (self->auth, self->loop);
    return self;
}

void
broker_destroy (broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *self = *self_p;
    zloop_destroy (&self->loop);
    s_finish (self);
    zsock_destroy (&self->clients);
    zsock_destroy (&self->workers);
    auth_destroy (&self->auth);
    sweeps_destroy (&self->sweeps);
    jobs_destroy (&self->jobs);
    stats_destroy (&self->stats);
    events_destroy (&self->events);
    store_destroy (&self->store);
    blob_store_destroy (&self->blobs);
    fleet_destroy (&self->fleet);
    zlistx_destroy (&self->outbox);
    zlistx_destroy (&self->pending);
    zlistx_destroy (&self->durable);
    free (self->writers);
    zlistx_destroy (&self->doomed);
    free (self->clients_endpoint);
    free (self->workers_endpoint);
    free (self->chunk);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    free (self);
    *self_p = NULL;
}

//  One broker per database: its queue and its workers' claims live in its
//  memory, so a second broker on the same file would hand out the same jobs.
//  The lock is DB.lock beside the database's real path (links resolved, so
//  two spellings of one file share it), held with flock for the life of the
//  broker (the kernel drops it when the process ends, however it ends); it
//  holds the pid, for the message the second broker prints. flock is local
//  to a host: on NFS two hosts can each take it. 0 or -1.
static int
s_lock_db (broker_t *self, const char *db, char **cause)
{
    char path [PATH_MAX + 16];
    char *real = realpath (db, NULL);
    if (!real) {
        //  A database not created yet: its folder's real path and its name
        char *copy = strdup (db), *name = strdup (db);
        char *folder = copy && name ? realpath (dirname (copy), NULL) : NULL;
        if (folder && asprintf (&real, "%s/%s", folder, basename (name)) < 0)
            real = NULL;
        free (folder);
        free (copy);
        free (name);
    }
    int len = snprintf (path, sizeof path, "%s.lock", real ? real : db);
    free (real);
    if (len >= (int) sizeof path)
        return mt_fail (cause, "%s: the path is too long", db);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        mt_fail (cause, "%s: cannot create the lock file: %s", path, strerror (errno));
        return -1;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        char pid [32] = "";
        ssize_t n = pread (self->lock_fd, pid, sizeof pid - 1, 0);
        pid [n > 0 ? n : 0] = 0;
        pid [strcspn (pid, "\n")] = 0;
        mt_fail (cause, "%s: another mtbroker%s%s%s uses this database (it holds %s); stop it"
                 " or give this one another --db", db, *pid ? " (pid " : "", pid, *pid ? ")" : "",
                 path);
        return -1;
    }
    char pid [32];
    len = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (ftruncate (self->lock_fd, 0) || pwrite (self->lock_fd, pid, (size_t) len, 0) != len)
        mt_warn ("broker: %s: cannot write the pid: %s", path, strerror (errno));
    return 0;
}

int
broker_run (broker_t *self)
{
    mt_info ("broker: clients on %s, workers on %s, database %s", self->clients_endpoint,
             self->workers_endpoint, self->config.db);
    //  A SIGHUP (reload the keys) also interrupts the poll and ends
    //  zloop_start with 0; only SIGINT and SIGTERM (zsys_interrupted) stop us
    errno = 0;
    while (zloop_start (self->loop) == 0 && !zsys_interrupted && errno == EINTR) {
        if (self->auth)
            auth_refresh (self->auth);
        errno = 0;
    }
    mt_info ("broker: shutting down");
    return self->fatal ? 1 : 0;
}

struct store_t *broker_store (broker_t *self) { return self->store; }
const char *broker_clients_endpoint (broker_t *self) { return self->clients_endpoint; }
const char *broker_workers_endpoint (broker_t *self) { return self->workers_endpoint; }

static bool
s_is_loopback (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    return strncmp (endpoint, "tcp://127.", 10) == 0 || strncmp (endpoint, "tcp://localhost:", 16) == 0
        || strncmp (endpoint, "tcp://[::1]:", 12) == 0;
}

//  --- The reactor: read, dispatch, commit, send --------------------------------

//  Handle one message from sock. Returns false when none was waiting.
static bool
s_handle_one (broker_t *self, zsock_t *sock, const handler_t *table, bool workers)
{
    //  A non-blocking read of the frames straight from ZeroMQ (asking
    //  ZMQ_EVENTS first costs a poll per call, czmq frames an allocation each)
    mt_frames_t frames;
    if (mt_frames_recv (&frames, zsock_resolve (sock)) <= 0)
        return false;
    //  The connection's key, from the handshake: a key removed since then
    //  has its messages dropped, as a new connection's handshake would be
    const char *user = self->auth && frames.count > 1
                     ? zmq_msg_gets (&frames.part [1], "User-Id") : NULL;
    if (self->auth && !auth_admits (self->auth, workers ? AUTH_WORKERS : AUTH_CLIENTS, user)) {
        mt_frames_close (&frames);
        return true;
    }
    peer_t peer = { .sock = sock, .req = -1 };
    peer.identity = mt_frames_data (&frames, 0);
    peer.identity_size = mt_frames_size (&frames, 0);
    mt_strlcpy (peer.user, user ? user : "local", sizeof peer.user);
    if (workers && (peer.worker = fleet_find (self->fleet, peer.identity, peer.identity_size)))
        fleet_worker_seen (peer.worker, zclock_mono ());
    uint64_t writes = store_writes (self->store);
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_frames_decode (&frames, 1, &code, &cause);
    if (!msg)
        broker_error (self, &peer, code ? code : MT_ERR_BAD_MESSAGE, "%s", cause ? cause : "empty message");
    else {
        mt_msg_opt_int (msg, "req", 0, INT64_C (1) << 53, &peer.req, NULL);
        const handler_t *h = table;
        while (h->command && !mt_msg_is (msg, h->command))
            h++;
        if (h->handler)
            h->handler (self, &peer, msg);
        else
            broker_error (self, &peer, MT_ERR_BAD_COMMAND, "unknown command %s on the %s socket",
                     mt_msg_command (msg), workers ? "workers" : "clients");
    }
    //  A worker whose message wrote (or tried to) hears of a failed commit,
    //  so it sends that message again
    if (workers && store_writes (self->store) != writes)
        s_writer (self, &peer);
    free (cause);
    mt_msg_destroy (&msg);
    mt_frames_close (&frames);
    return true;
}

//  One batch: up to BROKER_BATCH messages from both sockets in one
//  transaction, then dispatch, then commit, then the replies. A reply never
//  leaves before its commit, and one commit serves every peer in the batch.
static void
s_batch (broker_t *self)
{
    s_begin (self);
    //  A socket found empty is not asked again in this batch: each empty
    //  read costs ZeroMQ two system calls
    bool clients = true, workers = true;
    for (int n = 0; n < BROKER_BATCH && (clients || workers); n++) {
        if (clients)
            clients = s_handle_one (self, self->clients, clients_handlers, false);
        if (workers)
            workers = s_handle_one (self, self->workers, workers_handlers, true);
    }
    workers_dispatch (self);
    s_end (self, false);
}

static int
s_on_clients (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_batch ((broker_t *) arg);
    return 0;
}

static int
s_on_workers (zloop_t *loop, zsock_t *sock, void *arg)
{
    s_batch ((broker_t *) arg);
    return 0;
}

//  A batch's transaction covers the store, the queue and the fleet alike.
//  While a sync is in flight the transaction stays open, and the batches
//  that arrive meanwhile commit together when it ends (group commit).
static void
s_begin (broker_t *self)
{
    if (store_in_transaction (self->store))
        return;
    if (store_begin (self->store))
        mt_error ("broker: cannot begin a transaction; writes will fail");
    self->tx_started = zclock_mono ();
    jobs_begin (self->jobs);
    fleet_begin (self->fleet);
    stats_begin (self->stats);
}

//  Commit, unless a sync is in flight or the commit may wait (see
//  s_may_defer; force says it may not). A commit that wrote is made durable
//  by the sync thread before its outbox is let go; one that wrote nothing
//  lets it go at once; a failed one rolls everything back.
static void
s_end (broker_t *self, bool force)
{
    if (self->syncing)
        return;
    if (!force && s_may_defer (self)) {
        if (self->defer_timer < 0)
            self->defer_timer = zloop_timer (self->loop, BROKER_DEFER_MS, 1, s_on_defer, self);
        if (self->defer_timer >= 0)
            return;
    }
    bool wrote;
    bool committed = s_commit (self, &wrote);
    if (committed && wrote)
        s_sync (self);
    else
        s_flush (self, committed);
}

//  True when the open transaction may stay open for the next batch, as it
//  does while a sync is in flight: it wrote, but it has nothing to send (a
//  batch of PROGRESS reports, say), so nobody has been told of what it
//  wrote, and a crash before its commit is the same as one before those
//  messages arrived. The first batch with something to send (a reply, an
//  ASSIGN, an EVENT) commits it all, and its sync comes before any of it
//  leaves; a read that sees these writes is such a batch. A failed write is
//  not kept waiting (its writers must hear of it), nor is anything for
//  about BROKER_DEFER_MS (a one-shot timer forces the commit).
static bool
s_may_defer (broker_t *self)
{
    return store_in_transaction (self->store) && store_dirty (self->store)
        && !store_failed (self->store) && zlistx_size (self->outbox) == 0
        && zclock_mono () - self->tx_started < BROKER_DEFER_MS;
}

//  The timer of a transaction left open by s_may_defer: commit what waits.
static int
s_on_defer (zloop_t *loop, int timer_id, void *arg)
{
    broker_t *self = arg;
    self->defer_timer = -1;
    if (store_in_transaction (self->store))
        s_end (self, true);
    return 0;
}

//  Commit the store, and the queue and fleet with it, or roll all three
//  back. True when it committed; *wrote says whether it wrote.
static bool
s_commit (broker_t *self, bool *wrote)
{
    *wrote = store_dirty (self->store);
    int64_t start = zclock_usecs ();
    bool committed = store_commit (self->store) == 0;
    int64_t took = zclock_usecs () - start;
    if (committed) {
        jobs_commit (self->jobs);
        fleet_commit (self->fleet);
        stats_commit (self->stats);
        self->nwriters = 0;
    }
    else {
        jobs_rollback (self->jobs);
        fleet_rollback (self->fleet);
        stats_rollback (self->stats);
        if (self->recovering)
            self->recovered = false;
    }
    self->recovering = false;
    if (*wrote)
        stats_observe (self->stats, STATS_COMMIT, (double) took / 1e6);
    return committed;
}

//  Make the commit just made durable: its outbox waits for the sync thread.
static void
s_sync (broker_t *self)
{
    zstr_send (self->syncer, "SYNC");
    self->syncing = true;
    s_move (self->outbox, self->pending);
}

//  The sync thread: one fdatasync of the write-ahead log per request,
//  answered "SYNCED errno" (0 when the commits are durable). It takes no
//  signal (SIGHUP reloads keys, SIGTERM stops the reactor), so a signal can
//  never cut its wait short.
static void
s_syncer (zsock_t *pipe, void *store)
{
    sigset_t all;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, NULL);
    zsock_signal (pipe, 0);
    char *request;
    while ((request = zstr_recv (pipe)) && strcmp (request, "SYNC") == 0) {
        zstr_sendf (pipe, "SYNCED %d", store_sync (store));
        zstr_free (&request);
    }
    zstr_free (&request);
}

//  Read the sync thread's answer: the errno it carries; EIO for anything
//  else, such as the note a thread leaves when it ends.
static int
s_sync_reply (zsock_t *sock)
{
    char *reply = zstr_recv (sock);
    int err;
    if (!reply || sscanf (reply, "SYNCED %d", &err) != 1)
        err = EIO;
    zstr_free (&reply);
    return err;
}

//  A sync ended: the outbox it covers is let go, and what gathered
//  meanwhile commits now.
static int
s_on_synced (zloop_t *loop, zsock_t *sock, void *arg)
{
    broker_t *self = arg;
    int err = s_sync_reply (sock);
    self->syncing = false;
    if (err) {
        //  What was committed may or may not be on disk; nobody has been told
        //  of it, so stopping here keeps every acknowledgement true
        mt_error ("broker: cannot make the database durable (fdatasync of %s-wal: %s);"
                  " stopping without acknowledging the last commits", self->config.db,
                  strerror (err));
        self->fatal = true;
        return -1;
    }
    //  What gathered meanwhile commits and its sync starts before the durable
    //  messages go out, so the disk is not idle while they are sent; a
    //  transaction that wrote nothing waits until they are out, so that no
    //  peer's later reply overtakes an earlier one, and one that has nothing
    //  to send may wait for more (s_may_defer)
    zlistx_t *durable = self->pending;
    self->pending = self->durable;
    self->durable = durable;
    if (store_in_transaction (self->store) && store_dirty (self->store) && !s_may_defer (self)) {
        bool wrote, committed = s_commit (self, &wrote);
        if (committed)
            s_sync (self);
        s_flush_list (self, durable, true);
        if (!committed)
            s_flush (self, false);
    }
    else {
        s_flush_list (self, durable, true);
        if (store_in_transaction (self->store))
            s_end (self, false);
    }
    return 0;
}

//  At exit: commit what gathered, make it durable and let it go.
static void
s_finish (broker_t *self)
{
    if (!self->syncer)
        return;
    if (self->syncing) {
        self->syncing = false;
        if (s_sync_reply (zactor_sock (self->syncer)) != 0)
            self->fatal = true;
    }
    zactor_destroy (&self->syncer);
    if (self->fatal) {
        //  Nothing more is said: a reply could speak of what is not on disk
        store_rollback (self->store);
        zlistx_purge (self->outbox);
        zlistx_purge (self->pending);
        return;
    }
    bool wrote;
    if ((!store_in_transaction (self->store) || s_commit (self, &wrote))
    &&  store_sync (self->store) == 0) {
        s_flush_list (self, self->pending, true);      // the older commit's first
        s_flush_list (self, self->outbox, true);
    }
}

//  --- The outbox -----------------------------------------------------------------

static void
s_outgoing_free (void **item)
{
    outgoing_t *out = *item;
    if (out) {
        mt_msg_destroy (&out->msg);
        free (out->text);
        free (out);
        *item = NULL;
    }
}

static void
s_doomed_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  Move every item from one list to the end of another, in order.
static void
s_move (zlistx_t *from, zlistx_t *to)
{
    void *item;
    while ((item = zlistx_first (from))) {
        zlistx_detach_cur (from);
        zlistx_add_end (to, item);
    }
}

//  A message to peer, as the outbox holds it.
static outgoing_t *
s_outgoing (broker_t *self, peer_t *peer, mt_msg_t **msg_p)
{
    mt_msg_t *msg = *msg_p;
    *msg_p = NULL;
    if (peer->req >= 0)
        mt_msg_add_int (msg, "req", peer->req);
    outgoing_t *out = calloc (1, sizeof *out);
    assert (out);
    assert (peer->identity_size <= sizeof out->identity);
    out->kind = OUT_MESSAGE;
    out->sock = peer->sock;
    out->msg = msg;
    out->identity_size = peer->identity_size;
    memcpy (out->identity, peer->identity, peer->identity_size);
    out->req = peer->req;
    out->after_write = store_dirty (self->store);
    return out;
}

//  Queue a message to peer for after the commit.
void
broker_send (broker_t *self, peer_t *peer, mt_msg_t **msg_p)
{
    zlistx_add_end (self->outbox, s_outgoing (self, peer, msg_p));
}

void
broker_send_now (broker_t *self, peer_t *peer, mt_msg_t **msg_p)
{
    if (s_waits_for (self->outbox, peer) || s_waits_for (self->pending, peer))
        broker_send (self, peer, msg_p);
    else {
        outgoing_t *out = s_outgoing (self, peer, msg_p);
        out->after_write = false;
        s_flush_one (self, out, true);
    }
}

//  True when list holds a message to peer.
static bool
s_waits_for (zlistx_t *list, const peer_t *peer)
{
    for (outgoing_t *out = zlistx_first (list); out; out = zlistx_next (list))
        if (out->kind == OUT_MESSAGE && out->sock == peer->sock
        &&  out->identity_size == peer->identity_size
        &&  memcmp (out->identity, peer->identity, peer->identity_size) == 0)
            return true;
    return false;
}

static bool
s_same_writer (const writer_t *writer, const void *identity, size_t size)
{
    return writer->size == size && memcmp (writer->identity, identity, size) == 0;
}

//  The worker peer wrote in the open transaction: should its commit fail,
//  it hears ERROR storage (once), so it sends its message again. Only its
//  routing id is kept, once per run of its messages: the errors are made,
//  one per worker, if the commit fails, which is rare.
static void
s_writer (broker_t *self, peer_t *peer)
{
    if (self->nwriters && s_same_writer (&self->writers [self->nwriters - 1], peer->identity,
                                         peer->identity_size))
        return;
    if (self->nwriters == self->writers_cap) {
        size_t cap = self->writers_cap ? self->writers_cap * 2 : 64;
        writer_t *writers = realloc (self->writers, cap * sizeof *writers);
        if (!writers) {
            store_abort (self->store);      // it could not hear of a failure: fail now
            return;
        }
        self->writers = writers;
        self->writers_cap = cap;
    }
    writer_t *w = &self->writers [self->nwriters++];
    w->size = peer->identity_size;
    memcpy (w->identity, peer->identity, peer->identity_size);
}

//  The commit failed: every writer hears ERROR storage, once.
static void
s_tell_writers (broker_t *self)
{
    for (size_t i = 0; i < self->nwriters; i++) {
        bool told = false;
        for (size_t j = 0; j < i && !told; j++)
            told = s_same_writer (&self->writers [j], self->writers [i].identity,
                                  self->writers [i].size);
        if (told)
            continue;
        mt_msg_t *error = mt_msg_error (MT_ERR_STORAGE, "the broker could not write its"
                                        " database (disk full or I/O error); nothing was"
                                        " changed: send it again later");
        peer_t peer = { .sock = self->workers, .req = -1, .identity = self->writers [i].identity,
                        .identity_size = self->writers [i].size };
        broker_send (self, &peer, &error);
    }
    self->nwriters = 0;
}

//  Queue a message to a worker the broker speaks to first.
void
broker_tell (broker_t *self, fleet_worker_t *worker, const char *command, int64_t job, int attempt)
{
    mt_msg_t *msg = mt_msg_new (command);
    mt_msg_add_int (msg, "job", job);
    mt_msg_add_int (msg, "attempt", attempt);
    peer_t peer = { .sock = self->workers, .req = -1 };
    peer.identity = fleet_worker_identity (worker, &peer.identity_size);
    broker_send (self, &peer, &msg);
}

void
broker_error (broker_t *self, peer_t *peer, const char *code, const char *fmt, ...)
{
    char text [1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    mt_debug ("broker: %s: %s", code, text);
    mt_msg_t *msg = mt_msg_error (code, text);
    broker_send (self, peer, &msg);
}

//  A log line that announces a change: written once the change is durable,
//  never when it is rolled back.
void
broker_announce (broker_t *self, mt_log_level_t level, const char *fmt, ...)
{
    if (!mt_log_enabled (level))
        return;
    outgoing_t *out = calloc (1, sizeof *out);
    va_list args;
    va_start (args, fmt);
    if (!out || vasprintf (&out->text, fmt, args) < 0) {
        free (out);
        out = NULL;
    }
    va_end (args);
    if (out) {
        out->kind = OUT_NOTE;
        out->level = level;
        zlistx_add_end (self->outbox, out);
    }
}

//  A blob the transaction superseded: deleted later, if it commits.
void
broker_doom (broker_t *self, const char *hash)
{
    outgoing_t *out = calloc (1, sizeof *out);
    if (out && (out->text = strdup (hash))) {
        out->kind = OUT_DOOM;
        zlistx_add_end (self->outbox, out);
    }
    else
        free (out);
}

void
broker_event (broker_t *self, mt_msg_t **event_p)
{
    outgoing_t *out = calloc (1, sizeof *out);
    if (out) {
        out->kind = OUT_EVENT;
        out->msg = *event_p;
        zlistx_add_end (self->outbox, out);
    }
    else
        mt_msg_destroy (event_p);
    *event_p = NULL;
}

//  A subscriber's view of a job map (events_send), as LIST shows it to that key.
static int
s_event_view (void *arg, const char *user, json_t *job)
{
    return clients_show_job ((broker_t *) arg, user, job);
}

//  Let the outbox go, as the commit's outcome says.
static void
s_flush (broker_t *self, bool committed)
{
    if (!committed) {
        size_t undone = 0;
        for (outgoing_t *out = zlistx_first (self->outbox); out; out = zlistx_next (self->outbox))
            undone += out->kind == OUT_NOTE;
        s_tell_writers (self);
        mt_warn ("broker: a commit failed (disk full or I/O error); the batch's changes were"
                 " undone (%zu announced), and its writers were told 'storage'", undone);
    }
    s_flush_list (self, self->outbox, committed);
}

//  Let a list of the outbox go. Workers' messages first: a worker waits
//  for its next ASSIGN, while a client keeps many requests in flight. Each
//  peer's messages keep their order (a peer talks on one socket).
static void
s_flush_list (broker_t *self, zlistx_t *list, bool committed)
{
    outgoing_t *out;
    for (out = zlistx_first (list); out; out = zlistx_next (list))
        if (out->kind == OUT_MESSAGE && out->sock == self->workers) {
            zlistx_detach_cur (list);
            s_flush_one (self, out, committed);
        }
    while ((out = zlistx_first (list))) {
        zlistx_detach_cur (list);
        s_flush_one (self, out, committed);
    }
}

//  Let one item of the outbox go, as the commit's outcome says, and free it.
static void
s_flush_one (broker_t *self, outgoing_t *out, bool committed)
{
    if (out->kind == OUT_NOTE && committed)
        mt_log (out->level, "%s", out->text);
    else
    if (out->kind == OUT_EVENT && committed)
        events_send (self->events, zsock_resolve (self->clients), out->msg,
                     self->auth ? s_event_view : NULL, self, zclock_mono ());
    else
    if (out->kind == OUT_DOOM && committed) {
        doomed_t *doomed = calloc (1, sizeof *doomed);
        if (doomed) {
            mt_strlcpy (doomed->hash, out->text, sizeof doomed->hash);
            doomed->since = zclock_mono ();
            zlistx_add_end (self->doomed, doomed);
        }
    }
    else
    if (out->kind == OUT_MESSAGE) {
        bool send = true;
        if (!committed && out->after_write && !mt_msg_is (out->msg, "ERROR")) {
            //  It may speak of what was undone: a client hears why instead,
            //  a worker nothing (what the broker started there was undone)
            send = out->sock == self->clients;
            mt_msg_destroy (&out->msg);
            out->msg = mt_msg_error (MT_ERR_STORAGE, "the broker could not write its database"
                                     " (disk full or I/O error); nothing was changed: retry"
                                     " later");
            if (out->req >= 0)
                mt_msg_add_int (out->msg, "req", out->req);
        }
        if (send)
            mt_msg_send_to (out->msg, zsock_resolve (out->sock), out->identity,
                            out->identity_size);
    }
    void *item = out;
    s_outgoing_free (&item);
}


































//  --- Housekeeping ---------------------------------------------------------------

//  The figures, seeded from the store, and told of every job's change.
static int
s_watch (broker_t *self, char **cause)
{
    if (!(self->stats = stats_new (zclock_time ())))
        return mt_fail (cause, "out of memory");
    if (stats_seed (self->stats, self->store))
        return mt_fail (cause, "%s: cannot count the jobs for STATS", self->config.db);
    jobs_watch (self->jobs, s_on_change, self);
    return 0;
}

static void
s_on_change (void *arg, const job_change_t *change)
{
    broker_t *self = arg;
    stats_job_changed (self->stats, change);
    if (change->to == JOB_GONE)
        events_deleted (self, change->id, (job_state_t) change->from);
    else
        events_job (self, change->id);
}



//  Delete superseded blobs that have waited config.doom_delay_ms and that no
//  committed job names.
static void
s_reap (broker_t *self)
{
    int64_t now = zclock_mono ();
    doomed_t *doomed = zlistx_first (self->doomed);
    while (doomed && now - doomed->since > self->config.doom_delay_ms) {
        if (!store_blob_in_use (self->store, doomed->hash)
        &&  blobs_remove (self, doomed->hash) == 0)
            mt_debug ("broker: removed superseded blob %.12s", doomed->hash);
        zlistx_delete (self->doomed, zlistx_cursor (self->doomed));
        doomed = zlistx_first (self->doomed);
    }
}

//  This tick came late ms after it was due: the reactor did not run (the
//  process was stopped or starved), and what the workers sent meanwhile
//  waits unread (timers run before readers). Nobody is judged on that gap:
//  every worker's clocks, and the grace before jobs left running by a
//  previous broker are requeued, move on by it.
static void
s_stalled (broker_t *self, int64_t late, int64_t dead_after)
{
    if (late > dead_after)
        mt_warn ("broker: the broker did not run for %lld ms (stopped or starved); no worker"
                 " is judged on that gap", (long long) late);
    fleet_shift (self->fleet, late);
    if (!self->recovered)
        self->started += late;
}



static int
s_on_timer (zloop_t *loop, int timer_id, void *arg)
{
    broker_t *self = arg;
    int64_t now = zclock_mono ();
    int64_t dead_after = (int64_t) self->config.heartbeat_ms * self->config.liveness;
    int64_t late = self->last_tick ? now - self->last_tick - self->config.heartbeat_ms : 0;
    if (late > 0)
        s_stalled (self, late, dead_after);
    self->last_tick = now;
    s_begin (self);
    fleet_worker_t *next;
    for (fleet_worker_t *w = fleet_first (self->fleet); w; w = next) {
        next = fleet_next (self->fleet, w);     // w may leave the fleet
        workers_check (self, w, now, dead_after);
    }
    if (!self->recovered && now - self->started > dead_after)
        workers_recover (self);
    blob_store_expire (self->blobs, BROKER_UPLOAD_IDLE_MS);
    retention_tick (self, now);
    s_reap (self);
    workers_dispatch (self);
    s_end (self, true);
    return 0;
}
