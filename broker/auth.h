/*  auth - the broker's CurveZMQ: its own cert, and a ZAP handler that admits keys per socket  */
#ifndef MT_AUTH_H_INCLUDED
#define MT_AUTH_H_INCLUDED

#include <czmq.h>
#include <signal.h>
#include <stdbool.h>

#define AUTH_CLIENTS     "clients"      // ZAP domain of the clients socket, and its key folder
#define AUTH_WORKERS     "workers"      // ZAP domain of the workers socket, and its key folder
#define AUTH_ADMINS      "admins"       // key folder of clients that may act on every job
#define AUTH_SETS        3              // key folders: clients, workers, admins
#define AUTH_OWN_CERT    "broker_secret"    // the broker's own cert in the keys folder
#define AUTH_POLL_MS     1000           // the key folders are checked for changes this often, ms
#define AUTH_LOG_MS      60000          // a refused key is logged once per this long, ms
#define AUTH_ZAP_ENDPOINT "inproc://zeromq.zap.01"  // fixed by libzmq (RFC 27)

typedef struct auth_t auth_t;

//  What a client key may do: read (status, lists, workers) and act on its
//  own jobs, or, as an admin, act on every job.
typedef enum {
    AUTH_ROLE_NONE,             // not admitted (unknown, or removed since its handshake)
    AUTH_ROLE_CLIENT,           // a key in clients/
    AUTH_ROLE_ADMIN             // a key in admins/ (in clients/ as well or not)
} auth_role_t;

//  Load dir/broker_secret and the public certs in dir/clients, dir/workers
//  and dir/admins (optional: a missing folder is no admins),
//  and bind the ZAP handler (one per process). hups, if not NULL, counts
//  SIGHUPs: a change forces a reload. Returns a new auth, or NULL with *cause.
auth_t *auth_new (const char *dir, volatile sig_atomic_t *hups, char **cause);
void auth_destroy (auth_t **self_p);

//  Make sock a CURVE server with the broker's key whose peers are checked
//  against the keys of domain (AUTH_CLIENTS or AUTH_WORKERS). Call before bind.
void auth_server (auth_t *self, zsock_t *sock, const char *domain);

//  Serve ZAP requests and check the folders for changes from loop.
void auth_attach (auth_t *self, zloop_t *loop);

//  Reload the key folders if they changed or a SIGHUP came since last time.
void auth_refresh (auth_t *self);

//  True when key (the User-Id of a connection on the socket of domain, from
//  its handshake; NULL for none) is still authorized there: a key removed
//  since its handshake is refused from then on. The clients socket admits
//  the keys of clients/ and of admins/.
bool auth_admits (auth_t *self, const char *domain, const char *key);

//  The role of a client key (Z85) now; AUTH_ROLE_NONE for NULL.
auth_role_t auth_role (auth_t *self, const char *key);

//  The certificate file name of a client or admin key (Z85), as its folder
//  holds it: borrowed, valid until the next reload. NULL when not loaded.
const char *auth_name (auth_t *self, const char *key);

//  The one rule for acting on a job (stop, fetch, delete): true when user
//  (a client key, Z85) may act on a job submitted by owner (its jobs.client,
//  NULL when unknown). Without keys (self NULL) everyone may; with keys, an
//  admin may act on every job and a client on the jobs it submitted. The
//  same rule shows a job's blob hashes: others read its map redacted.
bool auth_may_act (auth_t *self, const char *user, const char *owner);

//  Keys loaded for domain now.
size_t auth_keys (auth_t *self, const char *domain);

#endif
