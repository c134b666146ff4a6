/*  cmd_predict - `mtclient predict`: run a model file on a data file, offline  */
#include "cmd.h"
#include "model.h"
#include "mt/util.h"
#include "predict.h"

#include <stdio.h>
#include <stdlib.h>

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
    static const cmd_offline_t offline = {
        .with_out = true, .with_target = false,
        .usage = "--model FILE --data FILE [--out FILE]", .run = s_run };
    return cmd_offline_exec (client, &cmd_predict_entry, argc, argv, &offline);
}
