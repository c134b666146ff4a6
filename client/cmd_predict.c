/*  cmd_predict - `mtclient predict`: run a model file on a data file, offline  */
#include "cmd.h"
#include "dataset.h"
#include "model.h"
#include "mt/util.h"
#include "predict.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { O_MODEL = CMD_OPT_LOCAL, O_DATA, O_OUT };

typedef struct {
    const char *model;          // --model FILE
    const char *data;           // --data FILE
    const char *out;            // --out FILE, NULL = stdout
} s_predict_t;

static int s_option (int opt, const char *arg, void *predict_p, char **cause);
static int s_safetensors (const char *path, char **cause);
static model_t *s_check (const s_predict_t *predict, char **cause);
static int s_run (const s_predict_t *predict, bool json, char **cause);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_predict_entry = {
    .name = "predict",
    .usage = "--model FILE --data FILE [--out FILE]",
    .summary = "predict with a fetched model on local data, offline (no broker needed)",
    .help = "  --model FILE   a model file, as written by `mtclient fetch`\n"
            "  --data FILE    rows to predict (CSV or JSONL, with the model's feature columns)\n"
            "  --out FILE     where to write the predictions (default: stdout)\n"
            "  --json         JSON instead of CSV: {\"columns\": [...], \"predictions\":\n"
            "                 [[...], ...]}, one list per row, as the CSV's rows\n",
    .exec = s_exec,
};

static int
s_option (int opt, const char *arg, void *predict_p, char **cause)
{
    s_predict_t *predict = predict_p;
    if (*arg == 0)
        return mt_fail (cause, "predict: an option's file name is empty");
    if (opt == O_MODEL)
        predict->model = arg;
    else
    if (opt == O_DATA)
        predict->data = arg;
    else
        predict->out = arg;
    return 0;
}

//  A safetensors file starts with the length of its JSON header (8 bytes,
//  little-endian), then the header's '{'. Anything else (a CSV given as the
//  model, say) is named for what it is not, before the model loader would
//  read its first 8 bytes as an absurd length.
static int
s_safetensors (const char *path, char **cause)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return mt_fail (cause, "--model: cannot open '%s': %s", path, strerror (errno));
    unsigned char head [9];
    struct stat st;
    size_t got = fread (head, 1, sizeof head, file);
    int rc = fstat (fileno (file), &st);
    fclose (file);
    uint64_t len = 0;
    for (size_t i = 0; i < 8 && got == sizeof head; i++)
        len |= (uint64_t) head [i] << (8 * i);
    if (rc == 0 && got == sizeof head && len >= 2 && len <= (uint64_t) st.st_size - 8
    &&  head [8] == '{')
        return 0;
    return mt_fail (cause, "--model: '%s' is not a safetensors file (give a model written by "
                    "`mtclient fetch JOB`)", path);
}

//  Everything that can be known before predicting: the model loads and the
//  data file has its feature columns. Returns the model (caller destroys),
//  or NULL with *cause.
static model_t *
s_check (const s_predict_t *predict, char **cause)
{
    if (s_safetensors (predict->model, cause))
        return NULL;
    char *why = NULL;
    model_t *model = model_load (predict->model, &why);
    //  A pipe is read once, by the prediction: its columns are checked there
    if (model && cmd_special_file (predict->data)) {
        free (why);
        return model;
    }
    dataset_columns_t *columns = model ? dataset_columns (predict->data, MT_FORMAT_AUTO, &why)
                                       : NULL;
    int rc = columns ? 0 : -1;
    if (!model)
        mt_fail (cause, "--model: %s", why);
    else
    if (!columns)
        mt_fail (cause, "--data: %s", why);
    int n_features = 0;
    const char *const *features = model ? model_features (model, &n_features) : NULL;
    for (int i = 0; rc == 0 && i < n_features; i++)
        rc = cmd_require_column (columns, predict->data, "--data", features [i], cause);
    if (rc)
        model_destroy (&model);
    dataset_columns_destroy (&columns);
    free (why);
    return model;
}

static int
s_run (const s_predict_t *predict, bool json, char **cause)
{
    char *why = NULL;
    int rc = predict_run (predict->model, predict->data, predict->out,
                          json ? PREDICT_JSON : PREDICT_CSV, &why);
    if (rc)
        mt_fail (cause, "predict: %s", why ? why : "failed");
    free (why);
    return rc;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    s_predict_t predict = { NULL, NULL, NULL };
    char *operands [1];
    int n = 0;
    char *cause = NULL;
    model_t *model = NULL;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_predict_entry, argc, argv, "", (struct option []) {
                       { "model", required_argument, NULL, O_MODEL },
                       { "data", required_argument, NULL, O_DATA },
                       { "out", required_argument, NULL, O_OUT },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &predict, operands, 0, &n, &cause))
        goto fail;
    if (!predict.model || !predict.data) {
        client->usage_error = true;
        mt_fail (&cause, "predict: give --model FILE and --data FILE "
                 "(usage: mtclient predict --model FILE --data FILE [--out FILE])");
        goto fail;
    }
    model = s_check (&predict, &cause);
    if (!model) {
        client->usage_error = true;
        goto fail;
    }
    if (s_run (&predict, client->json, &cause))
        goto fail;
    goto done;
fail:
    code = cmd_fail (client, NULL, cause);
done:
    model_destroy (&model);
    free (cause);
    return code;
}
