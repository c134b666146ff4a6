/*  cmd_eval - `mtclient eval`: a model's metrics on a labelled data file, offline  */
#include "cmd.h"
#include "eval.h"
#include "model.h"
#include "mt/util.h"
#include "render.h"

#include <stdio.h>
#include <stdlib.h>

static int s_run (const cmd_files_t *eval, const model_t *model, bool json, char **cause);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_eval_entry = {
    .name = "eval",
    .usage = "--model FILE --data FILE",
    .summary = "measure a fetched model on labelled local data, offline (no broker needed)",
    .help = "  --model FILE   a model file, as written by `mtclient fetch`\n"
            "  --data FILE    labelled rows (CSV or JSONL, with the model's feature columns\n"
            "                 and its target column); rows without a target are skipped\n"
            "                 and counted, a class the model does not know is an error\n"
            "  --json         one object: task, target, rows, rows_skipped_missing_target,\n"
            "                 unseen_categories, imputed_values, metrics, and for\n"
            "                 classification classes and confusion (rows true, columns\n"
            "                 predicted)\n",
    .exec = s_exec,
};

static int
s_run (const cmd_files_t *eval, const model_t *model, bool json, char **cause)
{
    char *why = NULL;
    eval_result_t result;
    if (eval_run (model, eval->data, &result, &why)) {
        mt_fail (cause, "eval: %s", why ? why : "failed");
        free (why);
        return -1;
    }
    json_t *root = eval_to_json (&result, model);
    int rc = root ? 0 : mt_fail (cause, "eval: out of memory");
    if (root && json && cmd_print_json (root))
        rc = mt_fail (cause, "eval: cannot write to stdout");
    else
    if (root && !json)
        render_eval (stdout, root);
    if (rc == 0 && fflush (stdout))
        rc = mt_fail (cause, "eval: cannot write to stdout");
    json_decref (root);
    eval_result_clear (&result);
    return rc;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    static const cmd_offline_t offline = {
        .with_out = false, .with_target = true,
        .usage = "--model FILE --data FILE [--json]", .run = s_run };
    return cmd_offline_exec (client, &cmd_eval_entry, argc, argv, &offline);
}
