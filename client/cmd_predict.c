/*  cmd_predict - `mtclient predict`: run a model file on a data file, offline  */
#include "cmd.h"
#include "model.h"
#include "mt/util.h"
#include "predict.h"

#include <stdio.h>
#include <stdlib.h>

enum { O_MODEL = CMD_OPT_LOCAL, O_DATA, O_OUT };

typedef struct {
    const char *model;          // --model FILE
    const char *data;           // --data FILE
    const char *out;            // --out FILE, NULL = stdout
} s_predict_t;

static int s_option (int opt, const char *arg, void *predict_p, char **cause);
static model_t *s_check (const s_predict_t *predict, char **cause);
static int s_run (const s_predict_t *predict, const model_t *model, bool json, char **cause);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_predict_entry = {
    .name = "predict",
    .usage = "--model FILE --data FILE [--out FILE]",
    .summary = "predict with a fetched model on local data, offline (no broker needed)",
    .help = "  --model FILE   a model file, as written by `mtclient fetch`\n"
            "  --data FILE    rows to predict (CSV or JSONL, with the model's feature columns)\n"
            "  --out FILE     where to write the predictions (default: stdout): a file is\n"
            "                 replaced atomically (a link's target), a device or FIFO\n"
            "                 written straight through, - is stdout\n"
            "  --json         JSON instead of CSV: {\"columns\": [...], \"predictions\":\n"
            "                 [[...], ...], \"unseen_categories\": N, \"imputed_values\": N},\n"
            "                 one list per row, as the CSV's rows; categories the model\n"
            "                 never saw go to (other), missing values are imputed, and\n"
            "                 a line on stderr counts both\n",
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

//  Everything that can be known before predicting: the output can be
//  written, the model loads and the data file has its feature columns.
//  Returns the model (caller destroys), or NULL with *cause.
static model_t *
s_check (const s_predict_t *predict, char **cause)
{
    char *why = NULL;
    if (predict->out && mt_output_check (predict->out, &why)) {
        mt_fail (cause, "--out: %s", why);
        free (why);
        return NULL;
    }
    return cmd_load_model (predict->model, predict->data, false, cause);
}

static int
s_run (const s_predict_t *predict, const model_t *model, bool json, char **cause)
{
    char *why = NULL;
    int rc = predict_run (model, predict->data, predict->out,
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
