/*  mtworker - the worker's command line: options, then the agent (or a training child)  */
#include "agent.h"
#include "mlp.h"
#include "mt/log.h"
#include "mt/util.h"
#include "mt/version.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  SIGTERM and SIGINT are counted; the agent drains on the first and leaves
//  on the second. The count is the one piece of state a handler may touch.
static volatile sig_atomic_t s_signals = 0;

static void
s_on_signal (int sig)
{
    s_signals++;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: mtworker [options]\n"
        "  --broker EP         the broker's workers endpoint (default tcp://127.0.0.1:5556)\n"
        "  --cache-dir DIR     fetched datasets and job folders (default mt-cache)\n"
        "  --cache-max-bytes N keep the cached datasets within N bytes, least recently\n"
        "                      used removed first (default 0: no bound); a job's own\n"
        "                      files stay while it runs; its folder is emptied when it\n"
        "                      ends (one kept as a spare for the next job), and folders a\n"
        "                      worker that died left are removed when a worker next\n"
        "                      starts on this cache with no other worker using it\n"
        "  --data-root DIR     allow jobs whose --data-path names a file inside DIR\n"
        "                      (shared storage); without it such jobs fail\n"
        "  --threads N         OpenBLAS threads per training (default 1)\n"
        "  --progress-ms N     least interval between progress reports (default 1000)\n"
        "  --nice N            run each training at niceness N, 0 to 19 (default %d; a\n"
        "                      worker already nicer keeps its own), so a\n"
        "                      broker or gateway on the same machine stays responsive;\n"
        "                      0: the worker's own priority\n"
        "  --checkpoint-min-ms N\n"
        "                      least milliseconds between a job's periodic checkpoints\n"
        "                      (default %d; 0: every --checkpoint-every epochs)\n"
        "  --cert FILE         CurveZMQ: this worker's secret cert (NAME_secret from\n"
        "                      `mtclient keygen NAME`; default $MT_CERT); needs --broker-key\n"
        "  --broker-key FILE   CurveZMQ: the broker's public cert (default $MT_BROKER_KEY)\n"
        "  -v, --verbose       log more (twice: debug)\n"
        "  -q, --quiet         log warnings and errors only\n"
        "  --version           print the version\n"
        "  -h, --help          print this help\n"
        "\n"
        "A job checkpoints every --checkpoint-every epochs (mtclient submit), but no sooner\n"
        "than --checkpoint-min-ms after its last checkpoint or its start; a stop or a drain\n"
        "always checkpoints.\n"
        "SIGTERM or SIGINT drains: no new job, the running one checkpoints and goes back\n"
        "to the broker to resume elsewhere, and the worker leaves once the broker has\n"
        "recorded that (at most %d s later); a second signal leaves at once.\n",
        AGENT_NICE, AGENT_CHECKPOINT_MIN_MS, AGENT_LEAVE_WAIT_MS / 1000);
}

//  An integer option in [lo, hi], or a message and false.
static bool
s_int_arg (const char *flag, const char *text, int lo, int hi, int *out)
{
    int64_t value;
    char *cause = NULL;
    if (mt_parse_int (flag, text, lo, hi, &value, &cause)) {
        fprintf (stderr, "mtworker: %s\n", cause);
        free (cause);
        return false;
    }
    *out = (int) value;
    return true;
}

//  True when path is a folder; else a message naming flag and why, and false.
static bool
s_folder_arg (const char *flag, const char *path)
{
    struct stat st;
    if (stat (path, &st)) {
        fprintf (stderr, "mtworker: %s '%s': %s; give a folder that exists\n", flag, path,
                 strerror (errno));
        return false;
    }
    if (!S_ISDIR (st.st_mode)) {
        fprintf (stderr, "mtworker: %s '%s' is not a folder; give the folder that holds the"
                 " jobs' --data-path files\n", flag, path);
        return false;
    }
    return true;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv [1], "--train-child") == 0)
        return agent_child_main (argc, argv);
    static struct option options [] = {
        { "broker", required_argument, 0, 'b' }, { "cache-dir", required_argument, 0, 'c' },
        { "data-root", required_argument, 0, 'r' },
        { "threads", required_argument, 0, 't' }, { "progress-ms", required_argument, 0, 'p' },
        { "nice", required_argument, 0, 'n' },
        { "checkpoint-min-ms", required_argument, 0, 'm' },
        { "cache-max-bytes", required_argument, 0, 'M' },
        { "cert", required_argument, 0, 'C' }, { "broker-key", required_argument, 0, 'K' },
        { "verbose", no_argument, 0, 'v' }, { "quiet", no_argument, 0, 'q' },
        { "version", no_argument, 0, 'V' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
    };
    agent_config_t config;
    agent_config_init (&config);
    const char *env = getenv ("MT_CERT");
    config.cert = env && *env ? env : NULL;
    env = getenv ("MT_BROKER_KEY");
    config.broker_key = env && *env ? env : NULL;
    int level = MT_LOG_INFO, opt;
    while ((opt = getopt_long (argc, argv, "vqh", options, NULL)) != -1) {
        switch (opt) {
            case 'b': config.broker = optarg; break;
            case 'c': config.cache_dir = optarg; break;
            case 'r': config.data_root = optarg; break;
            case 't': if (!s_int_arg ("--threads", optarg, 1, 1024, &config.threads)) return 2; break;
            case 'n': if (!s_int_arg ("--nice", optarg, 0, 19, &config.nice)) return 2; break;
            case 'p': if (!s_int_arg ("--progress-ms", optarg, 0, 3600000, &config.progress_ms)) return 2; break;
            case 'm': if (!s_int_arg ("--checkpoint-min-ms", optarg, 0, 86400000, &config.checkpoint_min_ms)) return 2; break;
            case 'M': {
                char *end = NULL;
                errno = 0;
                long long bytes = strtoll (optarg, &end, 10);
                if (errno || !end || *end || end == optarg || bytes < 0) {
                    fprintf (stderr, "mtworker: --cache-max-bytes: '%s' is not a byte count"
                             " (0 or more; 0 means no bound)\n", optarg);
                    return 2;
                }
                config.cache_max_bytes = bytes;
                break;
            }
            case 'C': config.cert = optarg; break;
            case 'K': config.broker_key = optarg; break;
            case 'v': level++; break;
            case 'q': level = MT_LOG_WARN; break;
            case 'V': printf ("mtworker %s\n", MT_VERSION); return 0;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "mtworker: unexpected argument '%s'\n", argv [optind]);
        return 2;
    }
    char *why = NULL;
    if (config.broker && mt_endpoint_check ("--broker", config.broker, false, &why)) {
        fprintf (stderr, "mtworker: %s\n", why);
        free (why);
        return 2;
    }
    if (config.data_root && !s_folder_arg ("--data-root", config.data_root))
        return 2;
    if (!config.cert != !config.broker_key) {
        fprintf (stderr, "mtworker: CurveZMQ needs both --cert FILE (this worker's NAME_secret)"
                 " and --broker-key FILE (the broker's public cert)\n");
        return 2;
    }
    mt_log_set_ident ("mtworker");
    mt_log_set_level (level > MT_LOG_DEBUG ? MT_LOG_DEBUG : (mt_log_level_t) level);
    mlp_size_blas (config.threads, argv);
    char engine [160];
    mt_info ("engine: %s", mlp_describe (engine, sizeof engine));
    zsys_handler_set (NULL);
    //  The database, blobs and caches are private to the service's user
    umask (077);
    zsys_init ();
    zsys_set_logstream (NULL);
    struct sigaction sa = { .sa_handler = s_on_signal, .sa_flags = SA_RESTART };
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    config.signals = &s_signals;
    char *cause = NULL;
    agent_t *agent = agent_new (&config, &cause);
    if (!agent) {
        fprintf (stderr, "mtworker: %s\n", cause ? cause : "cannot start");
        free (cause);
        return 1;
    }
    int rc = agent_run (agent, &cause);
    agent_destroy (&agent);
    if (rc) {
        fprintf (stderr, "mtworker: %s\n", cause ? cause : "cannot serve");
        free (cause);
        return 2;
    }
    return 0;
}
