/*  api - the gateway's JSON routes: the old /api/train ones, /api/v1, /health, /metrics  */
#ifndef MT_GW_API_H_INCLUDED
#define MT_GW_API_H_INCLUDED

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "gateway.h"
#include "hub.h"
#include "pool.h"
#include "tokens.h"

//  One request, as the server hands it to a route.
typedef struct {
    struct MHD_Connection *connection;
    const char *path;           // the URL's path (MHD decoded it)
    const char *body;           // a JSON body, NUL-terminated, or NULL
    size_t body_len;
    const char *upload;         // a raw body's spool file, or NULL
    const char *upload_hash;    // its SHA-256, hex
    int64_t upload_size;        // bytes
    const char *who;            // the token's name, or "local" without tokens
    tokens_role_t role;         // TOKENS_ADMIN without tokens
    unsigned status;            // out: the HTTP status
    struct MHD_Response *response;  // out: the response (the server queues it)
} api_req_t;

//  What a route reads after the headers.
typedef enum { API_BODY_NONE, API_BODY_JSON, API_BODY_RAW } api_body_t;

typedef struct api_route_t api_route_t;
typedef struct api_t api_t;

//  The routes' state: the broker's pool (borrowed), the default dataset
//  (hashed and its header read here). NULL with *cause when the default
//  data cannot be used.
api_t *api_new (const gw_config_t *config, pool_t *pool, char **cause);
//  The hub the event stream route reads (borrowed).
void api_set_hub (api_t *self, hub_t *hub);
//  The cache GET /api/v1/jobs/{id} serves from and fills (borrowed).
void api_set_cache (api_t *self, cache_t *cache);
void api_destroy (api_t **self_p);

//  The route for method and path, or NULL: then *known says whether the
//  path has routes for other methods, listed in allow ("GET, POST").
const api_route_t *api_find (const char *method, const char *path, bool *known,
                             char *allow, size_t size);
api_body_t api_route_body (const api_route_t *route);
//  The least role that may call the route; TOKENS_NONE: open to all.
tokens_role_t api_route_role (const api_route_t *route);

//  Run the route: sets req->status and req->response.
void api_run (api_t *self, const api_route_t *route, api_req_t *req);

//  A response holding value as JSON (taken), encoded as mtclient --json
//  encodes it; NULL when out of memory.
struct MHD_Response *api_json_response (json_t *value);
//  Set req's reply to {"error": {"code", "message"}} with status.
void api_error (api_req_t *req, unsigned status, const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

#endif
