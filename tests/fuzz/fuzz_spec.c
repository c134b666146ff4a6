/*  fuzz_spec - libFuzzer target: arbitrary text into mt_spec_from_json and mt_spec_from_value  */
#include "mt/spec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  True when text (NULL: absent) holds a control byte, 0x00 to 0x1f or 0x7f.
static bool
s_has_control (const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static bool
s_same_str (const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

//  An accepted spec: no control byte in any string, it validates, and its
//  JSON form parses back to the same struct and the same text.
static void
s_check_accepted (const mt_spec_t *spec)
{
    bool control = s_has_control (spec->name) || s_has_control (spec->data_path)
                || s_has_control (spec->data_name) || s_has_control (spec->target)
                || s_has_control (spec->data_hash) || s_has_control (spec->init_hash);
    for (int i = 0; i < spec->n_features; i++)
        control = control || s_has_control (spec->features [i]);
    if (control || mt_spec_validate (spec, NULL))
        abort ();
    char *json = mt_spec_to_json (spec);
    mt_spec_t back;
    if (!json || mt_spec_from_json (&back, json, NULL))
        abort ();
    bool same = s_same_str (spec->name, back.name) && s_same_str (spec->data_path, back.data_path)
             && s_same_str (spec->data_name, back.data_name)
             && s_same_str (spec->target, back.target)
             && strcmp (spec->data_hash, back.data_hash) == 0
             && strcmp (spec->init_hash, back.init_hash) == 0
             && spec->n_features == back.n_features && !spec->features == !back.features;
    for (int i = 0; same && i < spec->n_features; i++)
        same = strcmp (spec->features [i], back.features [i]) == 0;
    char *again = mt_spec_to_json (&back);
    if (!same || !again || strcmp (json, again))
        abort ();
    free (again);
    free (json);
    mt_spec_clear (&back);
}

//  An accepted value's strings reached the spec whole: none was cut short
//  at a NUL inside it (which would hide the byte from every later check).
static void
s_check_whole (const mt_spec_t *spec, json_t *root)
{
    const char *keys [] = { "name", "data_path", "data_name", "target", "data_hash",
                            "init_hash", "task", "activation", "optimizer", "schedule", "format" };
    const char *kept [] = { spec->name, spec->data_path, spec->data_name, spec->target,
                            spec->data_hash, spec->init_hash, mt_task_name (spec->task),
                            mt_act_name (spec->activation), mt_opt_name (spec->optimizer),
                            mt_schedule_name (spec->schedule), mt_format_name (spec->format) };
    for (size_t i = 0; i < sizeof keys / sizeof keys [0]; i++) {
        json_t *value = json_object_get (root, keys [i]);
        if (value && (!kept [i] || json_string_length (value) != strlen (kept [i])))
            abort ();
    }
    json_t *list = json_object_get (root, "features");
    for (size_t i = 0; list && i < json_array_size (list); i++)
        if (json_string_length (json_array_get (list, i)) != strlen (spec->features [i]))
            abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text [size] = 0;
    mt_spec_t spec;
    char *cause = NULL;
    if (mt_spec_from_json (&spec, text, &cause) == 0) {
        s_check_accepted (&spec);
        mt_spec_clear (&spec);
    }
    else
    if (!cause)
        abort ();
    free (cause);
    cause = NULL;
    //  The broker's SUBMIT gives the spec as a value whose strings may hold
    //  NUL (msgpack allows it); JSON_ALLOW_NUL lets \u0000 through the same way
    json_t *root = json_loadb ((const char *) data, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
                               NULL);
    if (root) {
        if (mt_spec_from_value (&spec, root, &cause) == 0) {
            s_check_accepted (&spec);
            s_check_whole (&spec, root);
            mt_spec_clear (&spec);
        }
        else
        if (!cause)
            abort ();
        free (cause);
        json_decref (root);
    }
    free (text);
    return 0;
}
