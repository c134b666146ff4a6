/*  cmd_submit - `mtclient submit`: its flags, parsed into a training spec  */
#ifndef MT_CLIENT_CMD_SUBMIT_H_INCLUDED
#define MT_CLIENT_CMD_SUBMIT_H_INCLUDED

#include <stdbool.h>

#include "cmd.h"
#include "mt/spec.h"

//  What submit's flags say beyond the spec itself.
typedef struct {
    const char *data_file;      // --data: a local file to upload (borrowed from argv)
    const char *init_file;      // --init: a local model file to upload
    const char *val_file;       // --val-data: a local validation file to upload
    const char *key;            // --key: the idempotency key, or NULL
    bool watch;                 // --watch: follow the job after submitting
} submit_opts_t;

#define SUBMIT_MAX_KEY 128      // bytes in an idempotency key

//  Parse submit's argv (argv [0] = "submit") into spec (initialised here
//  with the defaults; the caller mt_spec_clear's it in any case) and opts,
//  then validate the spec locally, with placeholder hashes for the files
//  still to be hashed. Global options are taken into client. Returns 0, or
//  -1 with *cause naming the flag and client->usage_error.
int submit_parse (client_t *client, int argc, char **argv, mt_spec_t *spec,
                  submit_opts_t *opts, char **cause);

//  What submit can tell from the local files before anything is sent: with
//  --data, its header (read alone) holds the --target, --features and kind
//  lists' columns and one input at least, and spec->format auto is
//  resolved to the format it was read as, so the workers, which see only
//  the bytes, read it the same way; --val-data's header has that format,
//  the target and every input; an --init model fits the job (task, hidden
//  layers, its columns and their kinds by name; the data is read whole
//  only when its header has an input the model lacks, or classes are
//  named in --class-weight). Returns 0, or -1 with *cause naming the flag
//  (and the differences, or the file's columns), and client->usage_error.
int submit_check_data (client_t *client, mt_spec_t *spec, const submit_opts_t *opts,
                       char **cause);

//  The sizes of the local files, as submit_hash_files found them.
typedef struct {
    int64_t data, init, val;    // bytes of --data, --init and --val-data (0 when not given)
} submit_sizes_t;

//  Hash the local files opts names (--data, --init, --val-data) into spec's
//  hashes, before anything is sent. Returns 0, or -1 with *cause naming the
//  flag and client->usage_error.
int submit_hash_files (client_t *client, mt_spec_t *spec, const submit_opts_t *opts,
                       submit_sizes_t *sizes, char **cause);

//  Upload those files on conn (each skipped when the broker holds it).
//  Returns 0, or -1 with *cause.
int submit_upload_files (conn_t *conn, const mt_spec_t *spec, const submit_opts_t *opts,
                         const submit_sizes_t *sizes, char **cause);

#endif
