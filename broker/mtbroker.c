/*  mtbroker - the broker's command line: options, logging, then the reactor  */
#include "broker.h"
#include "fleet.h"
#include "mlp.h"
#include "mt/log.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

//  SIGHUP count: with --keys, the broker reloads its key folders when it
//  moves; without, SIGHUP is ignored (so `systemctl reload` is always safe)
static volatile sig_atomic_t s_hups = 0;

static void
s_on_hup (int sig)
{
    s_hups++;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: mtbroker [options]\n"
        "  --clients EP        endpoint for clients (default tcp://127.0.0.1:5555)\n"
        "  --workers EP        endpoint for workers (default tcp://127.0.0.1:5556)\n"
        "  --db FILE           SQLite database, with the models of up to 128 KiB\n"
        "                      (default mt.db)\n"
        "  --data-dir DIR      datasets, checkpoints and larger models (default mt-data)\n"
        "  --heartbeat-ms N    heartbeat interval (default %d)\n"
        "  --liveness N        missed heartbeats before a worker is lost (default %d)\n"
        "  --max-queued N      queued jobs per client key (keyless clients share one\n"
        "                      count) (default %d)\n"
        "  --max-workers N     connected workers at most (default %d)\n"
        "  --stall-timeout S   fail a running job whose step has not moved for S seconds\n"
        "                      (default %d; 0 = never)\n"
        "  --keep-days D       prune jobs that ended over D days ago: their progress\n"
        "                      history and checkpoint (the job, its metrics and model\n"
        "                      stay; mtclient delete removes those), and blobs stored\n"
        "                      over D days ago that no job or sweep names (default 0:\n"
        "                      keep all)\n"
        "  --keys DIR          CurveZMQ: encrypt and admit only known keys. DIR/broker_secret\n"
        "                      is the broker's cert; DIR/clients/ and DIR/workers/ hold the\n"
        "                      public certs allowed on each socket (mtclient keygen makes\n"
        "                      them); DIR/admins/ (optional) holds client certs that may\n"
        "                      stop and fetch every job, where a client may act on its own\n"
        "                      jobs only. Changes apply within a second, or at once on SIGHUP\n"
        "  --insecure          allow binding a non-loopback address without --keys\n"
        "  -v, --verbose       log more (twice: debug)\n"
        "  -q, --quiet         log warnings and errors only\n"
        "  --version           print the version\n"
        "Exits 0 on SIGINT or SIGTERM, 1 when it cannot start (a port taken: before it\n"
        "writes any file) or cannot make its database durable (it then acknowledges\n"
        "nothing more), 2 on a bad option.\n",
        BROKER_HEARTBEAT_MS, BROKER_LIVENESS, BROKER_MAX_QUEUED, FLEET_MAX_WORKERS,
        BROKER_STALL_MS / 1000);
}

//  An integer option in [lo, hi], or a message and false.
static bool
s_int_arg (const char *flag, const char *text, int lo, int hi, int *out)
{
    int64_t value;
    char *cause = NULL;
    if (mt_parse_int (flag, text, lo, hi, &value, &cause)) {
        fprintf (stderr, "mtbroker: %s\n", cause);
        free (cause);
        return false;
    }
    *out = (int) value;
    return true;
}

int
main (int argc, char **argv)
{
    static struct option options [] = {
        { "clients", required_argument, 0, 'c' }, { "workers", required_argument, 0, 'w' },
        { "db", required_argument, 0, 'd' }, { "data-dir", required_argument, 0, 'D' },
        { "heartbeat-ms", required_argument, 0, 'H' }, { "liveness", required_argument, 0, 'L' },
        { "stall-timeout", required_argument, 0, 'S' },
        { "max-queued", required_argument, 0, 'Q' },
        { "keep-days", required_argument, 0, 'k' },
        { "max-workers", required_argument, 0, 'M' }, { "insecure", no_argument, 0, 'I' },
        { "keys", required_argument, 0, 'K' }, { "verbose", no_argument, 0, 'v' },
        { "quiet", no_argument, 0, 'q' }, { "version", no_argument, 0, 'V' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    //  The broker runs no matrix product: no OpenBLAS pool spinning beside it
    mlp_size_blas (1, argv);
    broker_config_t config;
    broker_config_init (&config);
    int level = MT_LOG_INFO, opt;
    while ((opt = getopt_long (argc, argv, "vqh", options, NULL)) != -1) {
        switch (opt) {
            case 'c': config.clients = optarg; break;
            case 'w': config.workers = optarg; break;
            case 'd': config.db = optarg; break;
            case 'D': config.data_dir = optarg; break;
            case 'H': if (!s_int_arg ("--heartbeat-ms", optarg, 10, 600000, &config.heartbeat_ms)) return 2; break;
            case 'L': if (!s_int_arg ("--liveness", optarg, 1, 1000, &config.liveness)) return 2; break;
            case 'S': {
                int seconds;
                if (!s_int_arg ("--stall-timeout", optarg, 0, 100000000, &seconds))
                    return 2;
                config.stall_ms = (int64_t) seconds * 1000;
                break;
            }
            case 'k':
                if (!s_int_arg ("--keep-days", optarg, 0, 100000, &config.keep_days))
                    return 2;
                break;
            case 'Q': {
                int queued;
                if (!s_int_arg ("--max-queued", optarg, 1, 100000000, &queued))
                    return 2;
                config.max_queued = queued;
                break;
            }
            case 'M':
                if (!s_int_arg ("--max-workers", optarg, 1, FLEET_MAX_WORKERS, &config.max_workers))
                    return 2;
                break;
            case 'I': config.insecure = true; break;
            case 'K': config.keys = optarg; break;
            case 'v': level++; break;
            case 'q': level = MT_LOG_WARN; break;
            case 'V': printf ("mtbroker %s\n", MT_VERSION); return 0;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "mtbroker: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    char *why = NULL;
    if (mt_endpoint_check ("--clients", config.clients, true, &why)
    ||  mt_endpoint_check ("--workers", config.workers, true, &why)) {
        fprintf (stderr, "mtbroker: %s\n", why);
        free (why);
        return 2;
    }
    mt_log_set_ident ("mtbroker");
    mt_log_set_level (level > MT_LOG_DEBUG ? MT_LOG_DEBUG : (mt_log_level_t) level);
    //  The database, blobs and caches are private to the service's user
    umask (077);
    zsys_init ();
    zsys_set_logstream (NULL);
    struct sigaction sa = { .sa_handler = s_on_hup, .sa_flags = SA_RESTART };
    sigaction (SIGHUP, &sa, NULL);
    config.hups = &s_hups;
    char *cause = NULL;
    broker_t *broker = broker_new (&config, &cause);
    if (!broker) {
        fprintf (stderr, "mtbroker: %s\n", cause ? cause : "cannot start");
        free (cause);
        return 1;
    }
    int rc = broker_run (broker);
    broker_destroy (&broker);
    return rc;
}
