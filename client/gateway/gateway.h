/*  gateway - mtgateway's HTTP server: libmicrohttpd, limits, access, static files, the routes  */
#ifndef MT_GW_GATEWAY_H_INCLUDED
#define MT_GW_GATEWAY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define GW_DEFAULT_BROKER       "tcp://127.0.0.1:5555"
#define GW_DEFAULT_LISTEN       "127.0.0.1:8080"
#define GW_DEFAULT_MAX_BODY     ((int64_t) 1 << 20)     // bytes of a JSON body
#define GW_DEFAULT_MAX_UPLOAD   ((int64_t) 1 << 30)     // bytes of a dataset upload
#define GW_MAX_UPLOAD           ((int64_t) 1 << 40)     // the protocol's blob size limit
#define GW_DEFAULT_CONNECTIONS  256                     // open HTTP connections at most
#define GW_DEFAULT_IDLE_S       30                      // s a connection may send nothing
#define GW_DEFAULT_THREADS      4                       // MHD's worker threads
#define GW_DEFAULT_TIMEOUT_S    5.0                     // s to wait for the broker's reply
#define GW_CHARTJS              "/usr/share/javascript/chart.js/chart.min.js"  // libjs-chart.js

//  What the command line says; strings are borrowed.
typedef struct {
    const char *broker;         // the broker's clients endpoint
    const char *listen;         // ADDR:PORT (an IPv4 address, or [v6])
    const char *cert;           // CurveZMQ: this client's NAME_secret cert, or NULL
    const char *broker_key;     // CurveZMQ: the broker's public cert, or NULL
    const char *tokens;         // the tokens file, or NULL: no tokens
    bool insecure;              // a non-loopback --listen without tokens
    const char *tls_cert;       // PEM files for HTTPS, or NULL
    const char *tls_key;
    const char *cors;           // Access-Control-Allow-Origin, or NULL: no CORS
    const char *default_data;   // the dataset of a submit that names none, or NULL
    const char *www;            // the dashboard's folder, or NULL: beside the executable
    const char *chartjs;        // Chart.js's file
    int64_t max_body;           // bytes
    int64_t max_upload;         // bytes
    int max_connections;
    int idle_timeout_s;
    int threads;
    int timeout_ms;             // per broker reply
} gw_config_t;

typedef struct gw_t gw_t;

//  Fill config with the defaults above.
void gw_config_init (gw_config_t *config);

//  Check the configuration, read the tokens, default data and certificates,
//  connect to the broker (lazily: it may be away) and start serving. NULL
//  with *cause and *usage (a bad value: exit 2) or not (cannot serve, such
//  as the port taken: exit 1).
gw_t *gw_new (const gw_config_t *config, bool *usage, char **cause);
//  Stop serving: streams end, connections close.
void gw_destroy (gw_t **self_p);

//  The URL it serves, "http://127.0.0.1:8080" (borrowed).
const char *gw_url (gw_t *self);

#endif
