/*  predict - apply a model to a data file and write the predictions as CSV or JSON  */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mt/util.h"
#include "dataset.h"
#include "fpenv.h"
#include "model.h"
#include "predict.h"

static void s_write_field (FILE *stream, const char *prefix, const char *text);
static void s_write_rows (FILE *stream, const model_t *model, const float *out, size_t rows);
static void s_write_json (FILE *stream, const model_t *model, const float *out, size_t rows,
                          const encode_counts_t *counts);
static void s_write_string (FILE *stream, const char *prefix, const char *text);
static void s_write_number (FILE *stream, float value);
static int s_emit (const char *out_path, const char *text, size_t len, char **cause);

dataset_t *
predict_dataset (const model_t *model, const char *data_path, bool with_target, char **cause)
{
    int n_classes = 0;
    const char *const *classes = model_classes (model, &n_classes);
    dataset_opts_t opts = { .format = MT_FORMAT_AUTO, .task = model_task (model),
                            .plan = model_plan (model) };
    if (with_target) {
        opts.target = model_target (model);
        opts.classes = classes;
        opts.n_classes = n_classes;
    }
    return dataset_load (data_path, &opts, cause);
}

int
predict_run (const model_t *model, const char *data_path, const char *out_path,
             predict_format_t format, char **cause)
{
    int n_classes = 0;
    model_classes (model, &n_classes);
    dataset_t *ds = predict_dataset (model, data_path, false, cause);
    float *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = -1;
    if (!ds)
        goto done;
    size_t n_out = n_classes > 0 ? (size_t) n_classes : 1;
    out = malloc ((ds->rows ? ds->rows : 1) * n_out * sizeof (float));
    if (!out) {
        mt_fail (cause, "predict: out of memory for %zu rows", ds->rows);
        goto done;
    }
    uint32_t saved = fpenv_fast ();     // FTZ/DAZ as in training (fpenv.h)
    int failed = model_predict (model, ds->x, ds->rows, out, cause);
    fpenv_restore (saved);
    if (failed)
        goto done;
    FILE *stream = open_memstream (&text, &len);
    if (!stream) {
        mt_fail (cause, "predict: out of memory");
        goto done;
    }
    if (ds->counts.unseen || ds->counts.imputed)
        fprintf (stderr, "predict: %zu unseen categor%s mapped to (other), %zu missing "
                 "value%s imputed\n", ds->counts.unseen, ds->counts.unseen == 1 ? "y" : "ies",
                 ds->counts.imputed, ds->counts.imputed == 1 ? "" : "s");
    if (format == PREDICT_JSON)
        s_write_json (stream, model, out, ds->rows, &ds->counts);
    else
        s_write_rows (stream, model, out, ds->rows);
    if (fclose (stream) == 0)
        rc = s_emit (out_path, text, len, cause);
    else
        mt_fail (cause, "predict: out of memory writing %zu rows", ds->rows);
done:
    free (text);
    free (out);
    dataset_destroy (&ds);
    return rc;
}

static void
s_write_rows (FILE *stream, const model_t *model, const float *out, size_t rows)
{
    int n_classes = 0;
    const char *const *classes = model_classes (model, &n_classes);
    if (model_task (model) == MT_TASK_REGRESSION) {
        fputs ("prediction\n", stream);
        for (size_t r = 0; r < rows; r++)
            fprintf (stream, "%.9g\n", (double) out [r]);
        return;
    }
    fputs ("label", stream);
    for (int j = 0; j < n_classes; j++)
        s_write_field (stream, ",p_", classes [j]);
    fputc ('\n', stream);
    for (size_t r = 0; r < rows; r++) {
        const float *p = out + r * (size_t) n_classes;
        int best = 0;
        for (int j = 1; j < n_classes; j++)
            best = p [j] > p [best] ? j : best;
        s_write_field (stream, "", classes [best]);
        for (int j = 0; j < n_classes; j++)
            fprintf (stream, ",%.9g", (double) p [j]);
        fputc ('\n', stream);
    }
}

//  prefix and text as one CSV field, quoted when it needs to be; prefix may
//  start with the separator, which stays outside the quotes
static void
s_write_field (FILE *stream, const char *prefix, const char *text)
{
    if (*prefix == ',') {
        fputc (',', stream);
        prefix++;
    }
    if (!strpbrk (text, ",\"\r\n")) {
        fprintf (stream, "%s%s", prefix, text);
        return;
    }
    fprintf (stream, "\"%s", prefix);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputc ('"', stream);
        fputc (*c, stream);
    }
    fputc ('"', stream);
}

//  The CSV's header as "columns" and each of its rows as a list.
static void
s_write_json (FILE *stream, const model_t *model, const float *out, size_t rows,
              const encode_counts_t *counts)
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
    fputs (rows ? "\n  ],\n" : "],\n", stream);
    fprintf (stream, "  \"unseen_categories\": %zu,\n  \"imputed_values\": %zu\n}\n",
             counts->unseen, counts->imputed);
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
s_emit (const char *out_path, const char *text, size_t len, char **cause)
{
    if (out_path)
        return mt_output_file (out_path, text, len, cause);
    if (fwrite (text, 1, len, stdout) != len || fflush (stdout))
        return mt_fail (cause, "predict: cannot write to stdout");
    return 0;
}
