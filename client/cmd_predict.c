/*  cmd_predict - `mtclient predict`: run a model file on a data file, offline  */
#include "cmd.h"
#include "model.h"
#include "mt/util.h"
#include "predict.h"

#include <stdio.h>
#include <stdlib.h>

static model_t *s_check (const cmd_files_t *predict, char **cause);
static int s_run (const cmd_files_t *predict, const model_t *model, bool json, char **cause);
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

//  Everything that can be known before predicting: the output can be
//  written, the model loads and the data file has its feature columns.
//  Returns the model (caller destroys), or NULL with *cause.
static model_t *
s_check (const cmd_files_t *predict, char **cause)
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
s_run (const cmd_files_t *predict, const model_t *model, bool json, char **cause)
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
    cmd_files_t predict;
    char *cause = NULL;
    model_t *model = NULL;
    int code = CMD_EXIT_OK;
    if (cmd_parse_files (client, &cmd_predict_entry, argc, argv, true,
                         cmd_predict_entry.usage, &predict, &cause))
        goto fail;
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
