/*  fuzz_codec - libFuzzer target: arbitrary frames into mt_msg_decode, bytes into the unpacker  */
#include "mt/msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 6            // a few past the 3 or 4 a message may have

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Input: one byte of frame count (mod MAX_FRAMES), then each frame but the
//  last as a 2-byte big-endian length and its bytes; the last frame takes the
//  rest. Lengths past the end are clipped.
static zmsg_t *
s_split (const uint8_t *data, size_t size)
{
    zmsg_t *zmsg = zmsg_new ();
    if (size == 0)
        return zmsg;
    int frames = data [0] % MAX_FRAMES;
    size_t pos = 1;
    for (int i = 0; i < frames; i++) {
        size_t len = size - pos;
        if (i < frames - 1) {
            len = 0;
            if (size - pos >= 2) {
                len = ((size_t) data [pos] << 8) | data [pos + 1];
                pos += 2;
            }
            else
                pos = size;
            if (len > size - pos)
                len = size - pos;
        }
        zmsg_addmem (zmsg, data + pos, len);
        pos += len;
    }
    return zmsg;
}

//  A decoded message must encode, and decode again to the same thing.
static void
s_check_round_trip (mt_msg_t *msg)
{
    zmsg_t *zmsg = mt_msg_encode (msg);
    if (!zmsg)
        abort ();
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *again = mt_msg_decode (zmsg, &code, &cause);
    if (!again || !json_equal (mt_msg_body (again), mt_msg_body (msg))
    ||  strcmp (mt_msg_command (again), mt_msg_command (msg)))
        abort ();
    size_t size_a = 0, size_b = 0;
    const void *a = mt_msg_payload (msg, &size_a);
    const void *b = mt_msg_payload (again, &size_b);
    if (size_a != size_b || (size_a && memcmp (a, b, size_a)))
        abort ();
    mt_msg_destroy (&again);
    zmsg_destroy (&zmsg);
    //  The same body with its scalar fields packed as they are added (the
    //  rest left in the JSON tree) decodes to the same body
    mt_msg_t *packed = mt_msg_new (mt_msg_command (msg));
    const char *key;
    json_t *item;
    json_object_foreach (mt_msg_body (msg), key, item) {
        if (json_is_integer (item))
            mt_msg_add_int (packed, key, json_integer_value (item));
        else
        if (json_is_boolean (item))
            mt_msg_add_bool (packed, key, json_is_true (item));
        else
        if (json_is_string (item))
            mt_msg_add_str (packed, key, json_string_value (item), json_string_length (item));
        else
            json_object_set (mt_msg_body (packed), key, item);
    }
    zmsg = mt_msg_encode (packed);
    again = zmsg ? mt_msg_decode (zmsg, &code, &cause) : NULL;
    if (!again || !json_equal (mt_msg_body (again), mt_msg_body (msg)))
        abort ();
    mt_msg_destroy (&again);
    mt_msg_destroy (&packed);
    zmsg_destroy (&zmsg);
    //  Its body as compact JSON text reads back to the same body
    char *text = mt_json_compact (mt_msg_body (msg));
    json_t *back = text ? json_loads (text, JSON_ALLOW_NUL, NULL) : NULL;
    if (!back || !json_equal (back, mt_msg_body (msg)))
        abort ();
    json_decref (back);
    free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmsg_t *zmsg = s_split (data, size);
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_msg_decode (zmsg, &code, &cause);
    if (msg)
        s_check_round_trip (msg);
    else
    if (!code || !cause)
        abort ();               // every failure names its code and cause
    mt_msg_destroy (&msg);
    free (cause);
    zmsg_destroy (&zmsg);

    //  the raw bytes as a body
    cause = NULL;
    json_t *value = mt_msgpack_to_json ((const char *) data, size, &cause);
    if (value) {
        char *packed = NULL;
        size_t packed_size = 0;
        if (mt_msgpack_from_json (value, &packed, &packed_size))
            abort ();
        free (packed);
        json_decref (value);
    }
    else
    if (!cause)
        abort ();
    free (cause);
    return 0;
}
