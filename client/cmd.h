/*  cmd - the subcommand table, global options and helpers every subcommand shares  */
#ifndef MT_CLIENT_CMD_H_INCLUDED
#define MT_CLIENT_CMD_H_INCLUDED

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "dataset.h"
#include "model.h"

//  Exit codes of mtclient (listed in the usage text).
#define CMD_EXIT_OK         0   // done (watch: the job succeeded)
#define CMD_EXIT_ERROR      1   // the broker refused, the job did not succeed, a file failed
#define CMD_EXIT_USAGE      2   // refused before sending: unknown or bad command, option, value
                                // (a --broker, --cert or --broker-key that cannot be used too)
#define CMD_EXIT_NO_BROKER  3   // no answer from the broker within --timeout
#define CMD_EXIT_FORBIDDEN  4   // the broker refused: the job is another client's (keys on)

#define CMD_DEFAULT_BROKER  "tcp://127.0.0.1:5555"
#define CMD_DEFAULT_TIMEOUT 5.0 // s
#define CMD_MAX_TIMEOUT     86400.0     // s
#define CMD_DEFAULT_RECONNECT 60.0  // s a watch keeps asking a broker that stopped answering
#define CMD_DEFAULT_COLUMNS 80      // terminal width when neither the tty nor $COLUMNS says
#define CMD_COLUMNS_SHOWN   20      // a data file's column names listed in a message at most

//  What the global options say; one per run, passed to every subcommand.
typedef struct {
    const char *broker;         // endpoint of the broker's client socket (borrowed)
    const char *cert;           // CurveZMQ: this client's NAME_secret cert file, or NULL
    const char *broker_key;     // CurveZMQ: the broker's public cert file, or NULL
    double timeout_s;           // how long to wait for any one reply, s
    bool json;                  // machine output instead of tables
    int verbose;                // -v count
    bool tty;                   // stdout is a terminal (live redraws)
    bool utf8;                  // the locale can show braille and block glyphs
    double reconnect_s;         // watch: how long to keep asking a broker gone quiet, s
    bool usage_error;           // the last failure was found before any work: exit 2
    const char *error;          // the failure's code for --json, when the command names it
    bool help_shown;            // --help printed a command's usage: exit 0
} client_t;

//  A subcommand: its name, its arguments, a summary, its options (for
//  `mtclient help NAME`), and the function that runs it with argv [0] = the
//  command name. exec returns a CMD_EXIT_ code.
typedef struct {
    const char *name;
    const char *usage;          // arguments after the name, one line
    const char *summary;        // what it does, one line
    const char *help;           // its options, one per line, or NULL
    int (*exec) (client_t *client, int argc, char **argv);
} cmd_entry_t;

extern const cmd_entry_t cmd_submit_entry;
extern const cmd_entry_t cmd_status_entry;
extern const cmd_entry_t cmd_watch_entry;
extern const cmd_entry_t cmd_stop_entry;
extern const cmd_entry_t cmd_list_entry;
extern const cmd_entry_t cmd_workers_entry;
extern const cmd_entry_t cmd_fetch_entry;
extern const cmd_entry_t cmd_predict_entry;
extern const cmd_entry_t cmd_eval_entry;
extern const cmd_entry_t cmd_keygen_entry;
extern const cmd_entry_t cmd_stats_entry;
extern const cmd_entry_t cmd_sweep_entry;
extern const cmd_entry_t cmd_resume_entry;
extern const cmd_entry_t cmd_delete_entry;

//  Run mtclient with its full argv; returns the process exit code.
int cmd_main (int argc, char **argv);

//  Set the defaults of the global options (broker from MT_BROKER).
void cmd_client_init (client_t *client);

//  The subcommand called name, or NULL.
const cmd_entry_t *cmd_find (const char *name);

//  Print the usage listing of every command (to stdout or stderr).
void cmd_usage (bool to_stderr);

//  Print one command's usage and options to stdout.
void cmd_help (const cmd_entry_t *entry);

//  Options every subcommand accepts after its name as well, for getopt_long
//  tables: end a table with CMD_GLOBAL_OPTIONS, { 0 }.
enum { CMD_OPT_BROKER = 1000, CMD_OPT_TIMEOUT, CMD_OPT_JSON, CMD_OPT_HELP, CMD_OPT_VERSION,
       CMD_OPT_CERT, CMD_OPT_BROKER_KEY, CMD_OPT_LOCAL = 1100 };
#define CMD_GLOBAL_OPTIONS \
    { "broker", required_argument, NULL, CMD_OPT_BROKER }, \
    { "timeout", required_argument, NULL, CMD_OPT_TIMEOUT }, \
    { "cert", required_argument, NULL, CMD_OPT_CERT }, \
    { "broker-key", required_argument, NULL, CMD_OPT_BROKER_KEY }, \
    { "json", no_argument, NULL, CMD_OPT_JSON }, \
    { "verbose", no_argument, NULL, 'v' }, \
    { "help", no_argument, NULL, 'h' }
#define CMD_GLOBAL_SHORT "-:vh"     // prefix of every short option string (operands in order)

//  Parse argv with getopt_long (argv [0] is the command); calls handle for
//  every option of the command, takes the global ones itself and collects
//  the operands into operands (at most max). Returns 0, or -1 with *cause
//  and client->usage_error for unknown options, missing values, values
//  handle (or --timeout) refuses, too many operands; also -1 (cause NULL,
//  client->help_shown) after --help printed the command's usage.
typedef int (cmd_option_fn) (int opt, const char *arg, void *arg_p, char **cause);
int cmd_parse (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
               const char *shorts, const struct option *longs,
               cmd_option_fn *handle, void *handle_arg,
               char **operands, int max_operands, int *n_operands, char **cause);

//  Strict number parsers for option values: the whole string, finite, in
//  range. Return 0, or -1 with *cause "--lr: 'abc' is not a number".
int cmd_parse_real (const char *flag, const char *text, double lo, double hi,
                    double *out, char **cause);
int cmd_parse_int (const char *flag, const char *text, int64_t lo, int64_t hi,
                   int64_t *out, char **cause);
//  A job id operand (1 .. 2^53).
int cmd_parse_job (const char *text, int64_t *job, char **cause);

//  cmd_parse for a command that takes the global options only and at most
//  max_operands operands (stats, workers, status). Returns as cmd_parse.
int cmd_parse_plain (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                     char **operands, int max_operands, int *n_operands, char **cause);

//  Parse the arguments of a command that takes one job id and the global
//  options only (status, stop, watch). Returns 0, or -1 with *cause and
//  client->usage_error.
int cmd_parse_job_command (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                           int64_t *job, char **cause);

//  Put the formatted context before *cause: "cannot stop job 3: <cause>".
//  Always returns -1.
int cmd_prefix_cause (char **cause, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Codes of the failures mtclient finds itself, for --json's {"error":
//  {"code", "message"}}; an ERROR reply's code (PROTOCOL.md) passes through.
#define CMD_ERR_USAGE        "usage"        // exit 2
#define CMD_ERR_NO_BROKER    "no_broker"    // exit 3
#define CMD_ERR_WRONG_SOCKET "wrong_socket" // --broker names the broker's workers socket
#define CMD_ERR_JOB_FAILED   "job_failed"   // watch: the job failed
#define CMD_ERR_JOB_STOPPED  "job_stopped"  // watch: the job was stopped
#define CMD_ERR_FAILED       "failed"       // any other failure (a file, a reply)

//  Report a failure once and return its exit code: usage, no broker (when
//  conn timed out), or error. The report is "mtclient: cause" on stderr, or
//  with --json one line {"error": {"code", "message"}} on stdout, its code
//  client->error, else the one the exit code, conn's ERROR reply or its
//  wrong socket gives.
int cmd_fail (client_t *client, conn_t *conn, const char *cause);

//  cmd_fail for a usage error found before any work (exit 2): sets
//  client->usage_error, reports *cause_p and frees it. Returns the exit code.
int cmd_usage_fail (client_t *client, char **cause_p);

//  --reconnect S of watch and submit --watch into client->reconnect_s
//  (0 .. CMD_MAX_TIMEOUT). Returns 0, or -1 with *cause.
int cmd_parse_reconnect (client_t *client, const char *arg, char **cause);

//  Open the connection to the broker given by the global options; NULL, a
//  message printed and *code the exit code (CMD_EXIT_USAGE: a malformed
//  --broker, a --cert or --broker-key that cannot be used) when that is
//  impossible.
conn_t *cmd_connect (client_t *client, int *code);

//  Columns a live line may use on stdout: the terminal's width (TIOCGWINSZ),
//  else $COLUMNS, else 80; less one, so the cursor never wraps.
int cmd_terminal_width (void);

//  True when path names something that is there but is not a regular file
//  or a folder (after links), such as a pipe: its head, once read, would be
//  gone for the reader after us. A path that is not there is not special.
bool cmd_special_file (const char *path);

//  0 when name is one of columns' names (the data file path's, borrowed);
//  else -1 with *cause, one line naming flag and listing the columns:
//  "--target: no column 'z' in d.csv; its columns are: a, b, y" (at most
//  CMD_COLUMNS_SHOWN names, then "... (N in all)").
int cmd_require_column (const dataset_columns_t *columns, const char *path, const char *flag,
                        const char *name, char **cause);

//  The files an offline command (predict, eval) works on.
typedef struct {
    const char *model;          // --model FILE (borrowed from argv)
    const char *data;           // --data FILE
    const char *out;            // --out FILE, NULL = stdout (only when with_out)
} cmd_files_t;

//  What an offline command does once its files are known to be usable: 0,
//  or -1 with *cause.
typedef int (cmd_files_fn) (const cmd_files_t *files, const model_t *model, bool json,
                            char **cause);

//  An offline command: its options and what it runs.
typedef struct {
    bool with_out;              // takes --out FILE
    bool with_target;           // --data must have the model's target too
    const char *usage;          // the arguments, as the missing-file message shows them
    cmd_files_fn *run;
} cmd_offline_t;

//  Run an offline command (predict, eval): parse --model FILE and --data FILE
//  (both needed) and --out FILE; check before any work that --out can be
//  written, the model loads and --data has the raw columns its plan reads
//  (and its target), a usage error otherwise (a pipe's columns are left to
//  run, which reads it once); then run. Returns a CMD_EXIT_ code.
int cmd_offline_exec (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                      const cmd_offline_t *offline);

//  A JSON value as --json prints it (indented by 2, or one line): keys in
//  their order, reals to 17 digits. The caller frees it; NULL when out of memory.
char *cmd_json_text (json_t *value, bool indent);

//  A sweep's status map as `sweep status --json` (and the gateway) shows it:
//  id, state, metric, mode, trials (job, params, state, outcome, epochs_run,
//  best_metric, best_epoch) and best. A new object (caller decrefs).
json_t *cmd_sweep_public (const json_t *sweep);
//  Print a JSON value to stdout, indented by 2. Returns 0 or -1.
int cmd_print_json (json_t *value);
//  Print a JSON value to stdout as one line (NDJSON) and flush. Returns 0 or -1.
int cmd_print_json_line (json_t *value);

//  Follow a job until it ends, redrawing its progress (watch, submit --watch).
//  Returns CMD_EXIT_OK when it succeeded, else a failure code.
int cmd_watch_job (client_t *client, conn_t *conn, int64_t job);

//  Send request (taken) and wait for reply_command; returns a new reference
//  to the reply's field, which must be of type, or NULL with *cause.
json_t *cmd_request (conn_t *conn, mt_msg_t **request_p, const char *reply_command,
                     const char *field, json_type type, char **cause);

//  Request STATUS of job; returns the job map (caller owns) or NULL with *cause.
json_t *cmd_job_status (conn_t *conn, int64_t job, char **cause);

//  A command that takes the global options only and shows one answer (stats,
//  workers, sweep list): it sends command, waits for reply, whose field must be
//  of type, and shows that field, or the whole body less its "req" when whole:
//  as JSON with --json, else with print.
typedef void (cmd_show_fn) (json_t *value);
typedef struct {
    const char *command;
    const char *reply;
    const char *field;
    json_type type;
    bool whole;
    cmd_show_fn *print;
} cmd_show_t;

//  Run a show command. Returns a CMD_EXIT_ code.
int cmd_show_exec (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                   const cmd_show_t *show);

//  How a job command prints the job map of the reply without --json.
typedef void (cmd_job_print_fn) (int64_t id, json_t *job);

//  Run a command that takes one job id and changes the job (stop, resume):
//  send command {"job": ID}, wait for the JOB reply and print its job map
//  (--json) or call print. A refusal reads "cannot NAME job ID: ...", NAME
//  the entry's. Returns a CMD_EXIT_ code.
int cmd_job_exec (client_t *client, const cmd_entry_t *entry, int argc, char **argv,
                  const char *command, cmd_job_print_fn *print);

#endif
