/*  agent - the worker's side of the protocol: fetch, run a training child, report  */
#ifndef MT_AGENT_H_INCLUDED
#define MT_AGENT_H_INCLUDED

#include <signal.h>
#include <stdint.h>

#define AGENT_HEARTBEAT_MS   1000       // until the broker's WELCOME says otherwise
#define AGENT_LIVENESS       3
#define AGENT_STOP_GRACE_MS  10000      // a stopping child gets this long before SIGKILL
#define AGENT_CHECKPOINT_MIN_MS 10000   // least wall time between periodic checkpoints
#define AGENT_NICE              10      // the training child's niceness unless --nice says
#define AGENT_RETRY_MS       1000       // after ERROR storage, wait this long before
                                        //   sending a job's final message again
#define AGENT_STOP_SIGNAL    (SIGRTMIN + 1) // stops the training process's job of
                                        //   sigqueue's value (its sequence number)
#define AGENT_SPARE_DIR      ".spare"   // CACHE/jobs/.spare: an ended job's folder,
                                        //   kept for the next job's
#define AGENT_LEAVE_WAIT_MS  5000       // a draining worker waits at most this long to
                                        //   hear that its final message was recorded

typedef struct {
    const char *broker;         // endpoint of the broker's workers socket
    const char *cache_dir;      // datasets and models fetched, job folders
    const char *data_root;      // the only folder a spec's data_path may name a file in;
                                //   NULL = this worker takes no data_path jobs
    int threads;                // OpenBLAS threads per training
    int progress_ms;            // min interval between progress reports
    int nice;                   // the training child's niceness (setpriority), 0 = the agent's
    int64_t cache_max_bytes;    // datasets in the cache at most (LRU first); 0 = no bound
    int checkpoint_min_ms;      // least time between periodic checkpoints (stops and the
                                //   last epoch checkpoint regardless); 0 = none
    volatile sig_atomic_t *signals; // SIGTERM/SIGINT count: 1 = drain, 2 = leave now; may be NULL
    const char *cert;           // CurveZMQ: this worker's NAME_secret cert file, or NULL
    const char *broker_key;     // CurveZMQ: the broker's public cert file (with cert)
} agent_config_t;

typedef struct agent_t agent_t;

void agent_config_init (agent_config_t *config);

//  Connect and prepare. Returns a new agent, or NULL with *cause.
agent_t *agent_new (const agent_config_t *config, char **cause);
void agent_destroy (agent_t **self_p);

//  Serve until told to leave. The first signal drains: no new job, the
//  running one checkpoints and is handed back to the broker, then the agent
//  says goodbye, and leaves once the broker has recorded the job's end (or
//  AGENT_LEAVE_WAIT_MS has passed). A second signal leaves at once. Returns
//  0, or -1 with *cause (caller frees) when the endpoint is not a broker's
//  workers socket (its HELLO was answered ERROR bad_command).
int agent_run (agent_t *self, char **cause);

//  The training child's entry point (mtworker --train-child ...): trains one
//  job and reports to fd 3 as text lines. Returns the process exit code:
//  0 done or stopped, 2 bad input (not worth a retry), 1 other failure.
int agent_child_main (int argc, char **argv);

//  The training process the agent keeps across jobs: reads each job's
//  command on fd 4 (a 32-bit length, the job's 32-bit sequence number,
//  then NUL-separated arguments: the job's folder, then a --train-child
//  command line), trains it in its folder as agent_child_main would, and
//  ends its report on fd 3 with the line "exit CODE" (agent_child_main's
//  return). AGENT_STOP_SIGNAL sent with sigqueue and a job's number stops
//  that job only; a plain SIGTERM stops the job in hand and ends the process.
//  Returns (0) when fd 4 reaches its end: the agent is gone.
int agent_child_serve (void);

#endif
