/*  cmd_predict - `mtclient predict`: run a model file on a data file, offline  */
#include "cmd.h"
#include "columns.h"
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
static int s_run (const s_predict_t *predict, const model_t *model, bool json, char **cause);
static int s_run_json (const s_predict_t *predict, const model_t *model, char **cause);
static void s_write_json (FILE *stream, const model_t *model, const float *out, size_t rows);
static void s_write_string (FILE *stream, const char *prefix, const char *text);
static void s_write_number (FILE *stream, float value);
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
    columns_t *columns = model ? columns_read (predict->data, MT_FORMAT_AUTO, &why) : NULL;
    int rc = columns ? 0 : -1;
    if (!model)
        mt_fail (cause, "--model: %s", why);
    else
    if (!columns)
        mt_fail (cause, "--data: %s", why);
    int n_features = 0;
    const char *const *features = model ? model_features (model, &n_features) : NULL;
    for (int i = 0; rc == 0 && i < n_features; i++)
        rc = columns_require (columns, "--data", features [i], cause);
    if (rc)
        model_destroy (&model);
    columns_destroy (&columns);
    free (why);
    return model;
}

static int
s_run (const s_predict_t *predict, const model_t *model, bool json, char **cause)
{
    char *why = NULL;
    int rc = json ? s_run_json (predict, model, &why)
                  : predict_run (predict->model, predict->data, predict->out, &why);
    if (rc)
        mt_fail (cause, "predict: %s", why ? why : "failed");
    free (why);
    return rc;
}

//  As predict_run, with JSON for the CSV.
static int
s_run_json (const s_predict_t *predict, const model_t *model, char **cause)
{
    int n_features = 0, n_classes = 0;
    const char *const *features = model_features (model, &n_features);
    model_classes (model, &n_classes);
    dataset_opts_t opts = { .format = MT_FORMAT_AUTO, .target = NULL, .features = features,
                            .n_features = n_features, .task = model_task (model) };
    dataset_t *ds = dataset_load (predict->data, &opts, cause);
    float *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = -1;
    if (!ds)
        goto done;
    size_t n_out = n_classes > 0 ? (size_t) n_classes : 1;
    out = malloc ((ds->rows ? ds->rows : 1) * n_out * sizeof (float));
    if (!out) {
        mt_fail (cause, "out of memory for %zu rows", ds->rows);
        goto done;
    }
    if (model_predict (model, ds->x, ds->rows, out, cause))
        goto done;
    FILE *stream = open_memstream (&text, &len);
    if (!stream) {
        mt_fail (cause, "out of memory");
        goto done;
    }
    s_write_json (stream, model, out, ds->rows);
    if (fclose (stream))
        mt_fail (cause, "out of memory writing %zu rows", ds->rows);
    else
    if (predict->out)
        rc = mt_file_write_atomic (predict->out, text, len, cause);
    else
    if (fwrite (text, 1, len, stdout) != len || fflush (stdout))
        mt_fail (cause, "cannot write to stdout");
    else
        rc = 0;
done:
    free (text);
    free (out);
    dataset_destroy (&ds);
    return rc;
}

//  The CSV's header as "columns" and each of its rows as a list.
static void
s_write_json (FILE *stream, const model_t *model, const float *out, size_t rows)
{
    int n_classes = 0;
    const char *const *classes = model_classes (model, &n_classes);
    bool regression = model_task (model) == MT_TASK_REGRESSION;
    fputs ("{\n  \"columns\": [", stream);
    s_write_string (stream, "", regression ? "prediction" : "label");
    for (int j = 0; !regression && j < n_classes; j++) {
        fputs (", ", stream);
        s_write_string (stream, "p_", classes [j]);
    }
    fputs ("],\n  \"predictions\": [", stream);
    for (size_t r = 0; r < rows; r++) {
        fputs (r ? ",\n    [" : "\n    [", stream);
        if (regression)
            s_write_number (stream, out [r]);
        else {
            const float *p = out + r * (size_t) n_classes;
            int best = 0;
            for (int j = 1; j < n_classes; j++)
                best = p [j] > p [best] ? j : best;
            s_write_string (stream, "", classes [best]);
            for (int j = 0; j < n_classes; j++) {
                fputs (", ", stream);
                s_write_number (stream, p [j]);
            }
        }
        fputc (']', stream);
    }
    fputs (rows ? "\n  ]\n}\n" : "]\n}\n", stream);
}

//  prefix and text as one JSON string.
static void
s_write_string (FILE *stream, const char *prefix, const char *text)
{
    fputc ('"', stream);
    for (int part = 0; part < 2; part++)
        for (const unsigned char *c = (const unsigned char *) (part ? text : prefix); *c; c++)
            if (*c == '"' || *c == '\\')
                fprintf (stream, "\\%c", *c);
            else
            if (*c < 0x20)
                fprintf (stream, "\\u%04x", *c);
            else
                fputc (*c, stream);
    fputc ('"', stream);
}

//  As the CSV's %.9g; JSON has no NaN or infinity.
static void
s_write_number (FILE *stream, float value)
{
    if (isfinite (value))
        fprintf (stream, "%.9g", (double) value);
    else
        fputs ("null", stream);
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
    if (s_run (&predict, model, client->json, &cause))
        goto fail;
    goto done;
fail:
    code = cmd_fail (client, NULL, cause);
done:
    model_destroy (&model);
    free (cause);
    return code;
}
