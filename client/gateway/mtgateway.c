/*  mtgateway - the HTTP gateway's command line: options, logging, then serve until a signal  */
#include "gateway.h"
#include "mlp.h"
#include "mt/log.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_EXIT_OK      0   // stopped by SIGINT or SIGTERM
#define GW_EXIT_START   1   // cannot serve: the port taken, a TLS file that does not parse
#define GW_EXIT_USAGE   2   // a bad option or value, a file named by an option unusable

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: mtgateway [options]\n"
        "The HTTP face of the broker: the old /api/train routes, the /api/v1 JSON API, an\n"
        "event stream, the dashboard at / and Prometheus metrics at /metrics.\n"
        "  --broker EP          the broker's clients endpoint (default %s)\n"
        "  --listen ADDR:PORT   where to serve HTTP (default %s); a non-loopback address\n"
        "                       needs --tokens FILE or --insecure\n"
        "  --cert FILE          CurveZMQ: this client's NAME_secret cert (with --broker-key)\n"
        "  --broker-key FILE    CurveZMQ: the broker's public cert\n"
        "  --tokens FILE        lines NAME ROLE SECRET (roles read, submit, admin): callers\n"
        "                       send Authorization: Bearer SECRET\n"
        "  --insecure           serve a non-loopback address without tokens\n"
        "  --tls-cert FILE      HTTPS: the certificate (PEM), with --tls-key FILE\n"
        "  --tls-key FILE       HTTPS: its private key (PEM)\n"
        "  --cors ORIGIN        allow that origin's pages to call the API (default: none)\n"
        "  --default-data FILE  the dataset of a submit that names none (uploaded once);\n"
        "                       its last column is the target when none is given\n"
        "  --www DIR            the dashboard's files (default: www/ beside mtgateway, then\n"
        "                       ../share/mt/www)\n"
        "  --chartjs FILE       Chart.js for the dashboard (default %s)\n"
        "  --max-body N         bytes of a JSON body at most (default 1M)\n"
        "  --max-upload N       bytes of a dataset upload at most (default 1G)\n"
        "  --max-connections N  open connections at most (default %d)\n"
        "  --idle-timeout S     close a connection silent for S seconds (default %d)\n"
        "  --threads N          HTTP threads (default %d)\n"
        "  --timeout S          wait this long for the broker's reply (default %g)\n"
        "  -v, --verbose        log more (twice: debug)\n"
        "  -q, --quiet          log warnings and errors only\n"
        "  --version            print the version\n"
        "Sizes take K, M or G (powers of 1024). Errors are JSON: {\"error\": {\"code\",\n"
        "\"message\"}}: 413 too_large past --max-body or --max-upload, 503\n"
        "broker_unavailable while the broker does not answer.\n"
        "Exits 0 on SIGINT or SIGTERM, 1 when it cannot serve (the port taken), 2 on a bad\n"
        "option.\n",
        GW_DEFAULT_BROKER, GW_DEFAULT_LISTEN, GW_CHARTJS, GW_DEFAULT_CONNECTIONS,
        GW_DEFAULT_IDLE_S, GW_DEFAULT_THREADS, GW_DEFAULT_TIMEOUT_S);
}

//  A size in bytes: digits with an optional K, M or G, from 1 to max.
static int
s_size (const char *flag, const char *text, int64_t max, int64_t *out, char **cause)
{
    char digits [32];
    size_t len = strlen (text);
    int shift = 0;
    if (len > 0 && len < sizeof digits && strchr ("KkMmGg", text [len - 1])) {
        char unit = (char) (text [len - 1] | 0x20);
        shift = unit == 'k' ? 10 : unit == 'm' ? 20 : 30;
        len--;
    }
    if (len == 0 || len >= sizeof digits)
        return mt_fail (cause, "%s: '%s' is not a size (like 1048576, 64K, 1M, 2G)", flag,
                        text);
    memcpy (digits, text, len);
    digits [len] = 0;
    int64_t value;
    if (mt_parse_int (flag, digits, 1, max >> shift, &value, cause))
        return -1;
    *out = value << shift;
    return 0;
}

//  Parse argv into config: 0, -1 (exit 2, printed), or 1 (exit 0: --help, --version).
static int
s_parse (int argc, char **argv, gw_config_t *config, int *level)
{
    enum { O_BROKER = 1000, O_LISTEN, O_CERT, O_BROKER_KEY, O_TOKENS, O_INSECURE,
           O_TLS_CERT, O_TLS_KEY, O_CORS, O_DEFAULT_DATA, O_WWW, O_CHARTJS, O_MAX_BODY,
           O_MAX_UPLOAD, O_MAX_CONNECTIONS, O_IDLE, O_THREADS, O_TIMEOUT, O_VERSION };
    static struct option options [] = {
        { "broker", required_argument, 0, O_BROKER }, { "listen", required_argument, 0, O_LISTEN },
        { "cert", required_argument, 0, O_CERT },
        { "broker-key", required_argument, 0, O_BROKER_KEY },
        { "tokens", required_argument, 0, O_TOKENS }, { "insecure", no_argument, 0, O_INSECURE },
        { "tls-cert", required_argument, 0, O_TLS_CERT },
        { "tls-key", required_argument, 0, O_TLS_KEY }, { "cors", required_argument, 0, O_CORS },
        { "default-data", required_argument, 0, O_DEFAULT_DATA },
        { "www", required_argument, 0, O_WWW }, { "chartjs", required_argument, 0, O_CHARTJS },
        { "max-body", required_argument, 0, O_MAX_BODY },
        { "max-upload", required_argument, 0, O_MAX_UPLOAD },
        { "max-connections", required_argument, 0, O_MAX_CONNECTIONS },
        { "idle-timeout", required_argument, 0, O_IDLE },
        { "threads", required_argument, 0, O_THREADS },
        { "timeout", required_argument, 0, O_TIMEOUT },
        { "verbose", no_argument, 0, 'v' }, { "quiet", no_argument, 0, 'q' },
        { "version", no_argument, 0, O_VERSION }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    int opt, rc = 0;
    int64_t value;
    char *cause = NULL;
    opterr = 0;
    while (rc == 0 && (opt = getopt_long (argc, argv, ":vqh", options, NULL)) != -1) {
        switch (opt) {
            case O_BROKER: config->broker = optarg; break;
            case O_LISTEN: config->listen = optarg; break;
            case O_CERT: config->cert = optarg; break;
            case O_BROKER_KEY: config->broker_key = optarg; break;
            case O_TOKENS: config->tokens = optarg; break;
            case O_INSECURE: config->insecure = true; break;
            case O_TLS_CERT: config->tls_cert = optarg; break;
            case O_TLS_KEY: config->tls_key = optarg; break;
            case O_CORS: config->cors = optarg; break;
            case O_DEFAULT_DATA: config->default_data = optarg; break;
            case O_WWW: config->www = optarg; break;
            case O_CHARTJS: config->chartjs = optarg; break;
            case O_MAX_BODY:
                rc = s_size ("--max-body", optarg, (int64_t) 1 << 30, &config->max_body, &cause);
                break;
            case O_MAX_UPLOAD:
                rc = s_size ("--max-upload", optarg, GW_MAX_UPLOAD, &config->max_upload, &cause);
                break;
            case O_MAX_CONNECTIONS:
                rc = mt_parse_int ("--max-connections", optarg, 1, 65536, &value, &cause);
                config->max_connections = (int) value;
                break;
            case O_IDLE:
                rc = mt_parse_int ("--idle-timeout", optarg, 1, 86400, &value, &cause);
                config->idle_timeout_s = (int) value;
                break;
            case O_THREADS:
                rc = mt_parse_int ("--threads", optarg, 1, 256, &value, &cause);
                config->threads = (int) value;
                break;
            case O_TIMEOUT: {
                char *end = NULL;
                double seconds = strtod (optarg, &end);
                if (!*optarg || *end || !(seconds >= 0.01 && seconds <= 3600))
                    rc = mt_fail (&cause, "--timeout: '%s' is not a number of seconds from "
                                  "0.01 to 3600", optarg);
                else
                    config->timeout_ms = (int) (seconds * 1000 + 0.5);
                break;
            }
            case 'v': (*level)++; break;
            case 'q': *level = MT_LOG_WARN; break;
            case O_VERSION: printf ("mtgateway %s\n", MT_VERSION); return 1;
            case 'h': s_usage (stdout); return 1;
            case ':': rc = mt_fail (&cause, "option %s needs a value", argv [optind - 1]); break;
            default: rc = mt_fail (&cause, "unknown option '%s'; see mtgateway --help",
                                   argv [optind - 1]);
        }
    }
    if (rc == 0 && optind < argc)
        rc = mt_fail (&cause, "unexpected argument '%s'", argv [optind]);
    if (rc) {
        fprintf (stderr, "mtgateway: %s\n", cause ? cause : "bad option");
        free (cause);
    }
    return rc;
}

int
main (int argc, char **argv)
{
    //  The gateway runs no matrix product: no OpenBLAS pool spinning beside it
    mlp_size_blas (1, argv);
    gw_config_t config;
    gw_config_init (&config);
    int level = MT_LOG_INFO;
    int rc = s_parse (argc, argv, &config, &level);
    if (rc)
        return rc > 0 ? GW_EXIT_OK : GW_EXIT_USAGE;
    mt_log_set_ident ("mtgateway");
    mt_log_set_level (level > MT_LOG_DEBUG ? MT_LOG_DEBUG : (mt_log_level_t) level);
    if (sodium_init () < 0) {
        fprintf (stderr, "mtgateway: libsodium cannot start\n");
        return GW_EXIT_START;
    }
    //  Signals are taken by sigwait below, in this thread only: every thread
    //  started from here on has them blocked (czmq's handler stays out)
    zsys_handler_set (NULL);
    zsys_init ();
    zsys_set_logstream (NULL);
    signal (SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset (&stop);
    sigaddset (&stop, SIGINT);
    sigaddset (&stop, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop, NULL);
    bool usage = false;
    char *cause = NULL;
    gw_t *gw = gw_new (&config, &usage, &cause);
    if (!gw) {
        fprintf (stderr, "mtgateway: %s\n", cause ? cause : "cannot start");
        free (cause);
        return usage ? GW_EXIT_USAGE : GW_EXIT_START;
    }
    printf ("mtgateway: serving %s\n", gw_url (gw));
    fflush (stdout);
    int sig = 0;
    sigwait (&stop, &sig);
    mt_info ("gateway: stopping (signal %d)", sig);
    gw_destroy (&gw);
    return GW_EXIT_OK;
}
