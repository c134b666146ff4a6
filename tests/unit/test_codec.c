/*  test_codec - messages to frames and back, and every way a peer can send garbage  */
#include "mt/msg.h"
#include "mt/util.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <time.h>

static zmsg_t *s_frames (const char *command, const void *body, size_t body_size);
static void s_expect_fail (zmsg_t *zmsg, const char *code, const char *needle);
static void s_expect_body_fail (const void *body, size_t size, const char *needle);
static json_t *s_sample_body (void);
static mt_msg_t *s_round_trip (mt_msg_t *msg);
static uint64_t s_rand (uint64_t *state);

//  A zmsg with the signature, a command and a raw body frame.
static zmsg_t *
s_frames (const char *command, const void *body, size_t body_size)
{
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, MT_PROTOCOL);
    zmsg_addstr (zmsg, command);
    zmsg_addmem (zmsg, body, body_size);
    return zmsg;
}

//  Decoding must fail with this code and a cause holding needle; takes the zmsg.
static void
s_expect_fail (zmsg_t *zmsg, const char *code, const char *needle)
{
    const char *got = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_msg_decode (zmsg, &got, &cause);
    CHECK_MSG (msg == NULL, "decoded what should fail (%s)", needle);
    CHECK_MSG (got && strcmp (got, code) == 0, "code %s, expected %s (%s)",
               got ? got : "(null)", code, cause ? cause : "(no cause)");
    CHECK_STR_CONTAINS (cause, needle);
    free (cause);
    zmsg_destroy (&zmsg);
}

static void
s_expect_body_fail (const void *body, size_t size, const char *needle)
{
    s_expect_fail (s_frames ("PING", body, size), MT_ERR_BAD_MESSAGE, needle);
    //  and the same through the plain unpacker, which a map test cannot bypass
    char *cause = NULL;
    json_t *value = mt_msgpack_to_json (body, size, &cause);
    if (value) {
        //  only "not a map" bodies unpack; they must not be objects
        CHECK_MSG (!json_is_object (value), "unpacked a bad body (%s)", needle);
        json_decref (value);
    }
    free (cause);
}

static json_t *
s_sample_body (void)
{
    json_error_t error;
    json_t *body = json_loads (
        "{\"null\": null, \"t\": true, \"f\": false, \"zero\": 0, \"small\": 127,"
        " \"neg\": -33, \"u16\": 65535, \"u32\": 4294967296, \"min\": -9223372036854775808,"
        " \"max\": 9223372036854775807, \"real\": 3.141592653589793, \"tiny\": 5e-324,"
        " \"big\": 1.7976931348623157e308, \"nreal\": -0.5, \"empty\": \"\","
        " \"ascii\": \"hello\", \"unicode\": \"h\\u00e9llo \\u4e16\\u754c \\ud83d\\ude00\","
        " \"list\": [1, \"two\", 3.5, null, [true, {\"k\": []}]], \"map\": {},"
        " \"deep\": {\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": [1, 2]}}}}}},"
        " \"\\u00fcnicode key\": 1}", 0, &error);
    CHECK_MSG (body, "%s", error.text);
    //  a string with a NUL inside and one long string (over 65535 bytes: str32)
    json_object_set_new (body, "nul", json_stringn ("a\0b", 3));
    char *long_text = malloc (70000);
    memset (long_text, 'x', 70000);
    json_object_set_new (body, "long", json_stringn (long_text, 70000));
    free (long_text);
    return body;
}

//  Encode, decode and return the decoded message (the original is kept).
static mt_msg_t *
s_round_trip (mt_msg_t *msg)
{
    zmsg_t *zmsg = mt_msg_encode (msg);
    CHECK (zmsg);
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *copy = mt_msg_decode (zmsg, &code, &cause);
    CHECK_MSG (copy, "%s: %s", code, cause);
    zmsg_destroy (&zmsg);
    return copy;
}

static uint64_t
s_rand (uint64_t *state)
{
    //  xorshift64*: deterministic across platforms, unlike rand ()
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

static void
test_round_trip (void)
{
    mt_msg_t *msg = mt_msg_new ("SUBMIT");
    CHECK (msg);
    CHECK (mt_msg_is (msg, "SUBMIT"));
    CHECK (!mt_msg_is (msg, "SUBMITX"));
    json_t *sample = s_sample_body ();
    CHECK (json_object_update (mt_msg_body (msg), sample) == 0);
    unsigned char payload [300];
    for (size_t i = 0; i < sizeof payload; i++)
        payload [i] = (unsigned char) i;
    mt_msg_set_payload (msg, payload, sizeof payload);

    zmsg_t *zmsg = mt_msg_encode (msg);
    CHECK (zmsg && zmsg_size (zmsg) == 4);
    CHECK (zframe_streq (zmsg_first (zmsg), "MTP1"));
    CHECK (zframe_streq (zmsg_next (zmsg), "SUBMIT"));
    zmsg_destroy (&zmsg);

    mt_msg_t *copy = s_round_trip (msg);
    CHECK (streq (mt_msg_command (copy), "SUBMIT"));
    CHECK (json_equal (mt_msg_body (copy), sample));
    json_t *unicode = json_object_get (mt_msg_body (copy), "unicode");
    CHECK (streq (json_string_value (unicode), "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80"));
    CHECK (json_integer_value (json_object_get (mt_msg_body (copy), "min")) == INT64_MIN);
    CHECK (json_integer_value (json_object_get (mt_msg_body (copy), "max")) == INT64_MAX);
    CHECK (json_real_value (json_object_get (mt_msg_body (copy), "tiny")) == 5e-324);
    size_t size = 0;
    const void *data = mt_msg_payload (copy, &size);
    CHECK (data && size == sizeof payload && memcmp (data, payload, size) == 0);

    //  without a payload: three frames, and no payload after decoding
    mt_msg_set_payload (msg, NULL, 0);
    zmsg = mt_msg_encode (msg);
    CHECK (zmsg_size (zmsg) == 3);
    zmsg_destroy (&zmsg);
    mt_msg_t *bare = s_round_trip (msg);
    CHECK (mt_msg_payload (bare, &size) == NULL && size == 0);
    CHECK (json_equal (mt_msg_body (bare), sample));

    //  a payload of the maximum size passes
    char *big = calloc (1, MT_MAX_PAYLOAD);
    mt_msg_set_payload (msg, big, MT_MAX_PAYLOAD);
    mt_msg_t *full = s_round_trip (msg);
    CHECK (mt_msg_payload (full, &size) && size == MT_MAX_PAYLOAD);
    free (big);

    //  an empty body map and an empty (but present) payload
    mt_msg_t *empty = mt_msg_new ("PING");
    mt_msg_set_payload (empty, "", 0);
    zmsg = mt_msg_encode (empty);
    CHECK (zmsg_size (zmsg) == 4);
    zmsg_destroy (&zmsg);
    mt_msg_t *empty_copy = s_round_trip (empty);
    CHECK (json_object_size (mt_msg_body (empty_copy)) == 0);
    mt_msg_payload (empty_copy, &size);
    CHECK (size == 0);

    //  send through a real socket pair, with and without a routing frame
    zsock_t *server = zsock_new_pair ("@inproc://test_codec");
    zsock_t *client = zsock_new_pair (">inproc://test_codec");
    CHECK (server && client);
    CHECK (mt_msg_send (msg, client, NULL) == 0);
    zmsg = zmsg_recv (server);
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *received = mt_msg_decode (zmsg, &code, &cause);
    CHECK_MSG (received, "%s", cause);
    CHECK (json_equal (mt_msg_body (received), sample));
    zmsg_destroy (&zmsg);
    zframe_t *identity = zframe_new ("peer", 4);
    CHECK (mt_msg_send (msg, client, identity) == 0);
    zmsg = zmsg_recv (server);
    CHECK (zmsg_size (zmsg) == 5);
    zframe_t *first = zmsg_pop (zmsg);
    CHECK (zframe_streq (first, "peer"));
    zframe_destroy (&first);
    mt_msg_t *routed = mt_msg_decode (zmsg, &code, &cause);
    CHECK (routed);
    zmsg_destroy (&zmsg);
    zframe_destroy (&identity);
    zsock_destroy (&client);
    zsock_destroy (&server);

    mt_msg_t *msgs [] = { copy, bare, full, empty, empty_copy, received, routed };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs [0]; i++)
        mt_msg_destroy (&msgs [i]);
    mt_msg_destroy (&msg);
    mt_msg_destroy (&msg);              // safe twice
    mt_msg_destroy (NULL);
    json_decref (sample);
}

static void
test_new_and_encode_limits (void)
{
    CHECK (mt_msg_new ("") == NULL);
    CHECK (mt_msg_new ("ping") == NULL);
    CHECK (mt_msg_new ("PING PONG") == NULL);
    CHECK (mt_msg_new ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456") == NULL);   // 33 bytes
    mt_msg_t *msg = mt_msg_new ("ABCDEFGHIJKLMNOPQRSTUVWXYZ_01234");     // 32 bytes
    CHECK (msg);
    mt_msg_destroy (&msg);

    //  the encoder refuses what the decoder would refuse: nesting over the limit
    msg = mt_msg_new ("DEEP");
    json_t *inner = json_object ();
    json_t *node = inner;
    for (int level = 2; level < MT_MAX_DEPTH; level++) {
        json_t *next = json_object ();
        json_object_set_new (node, "n", next);
        node = next;
    }
    json_object_set_new (mt_msg_body (msg), "n", inner);    // 8 levels with the root
    json_object_set_new (node, "x", json_integer (1));
    zmsg_t *zmsg = mt_msg_encode (msg);
    CHECK (zmsg);
    zmsg_destroy (&zmsg);
    json_object_set_new (node, "n", json_array ());         // a 9th, even if empty
    CHECK (mt_msg_encode (msg) == NULL);
    char *data = NULL;
    size_t size = 0;
    CHECK (mt_msgpack_from_json (mt_msg_body (msg), &data, &size) == -1);
    mt_msg_destroy (&msg);

    //  mt_msg_error carries code and text
    mt_msg_t *error = mt_msg_error (MT_ERR_NOT_FOUND, "no job 7");
    CHECK (mt_msg_is (error, "ERROR"));
    CHECK (streq (json_string_value (json_object_get (mt_msg_body (error), "code")), "not_found"));
    CHECK (streq (json_string_value (json_object_get (mt_msg_body (error), "text")), "no job 7"));
    mt_msg_destroy (&error);
    error = mt_msg_error (MT_ERR_STORAGE, NULL);
    CHECK (streq (json_string_value (json_object_get (mt_msg_body (error), "text")), "storage"));
    mt_msg_destroy (&error);
    //  a text that is not UTF-8 (a cause quoting a peer's bytes) still gives a text
    error = mt_msg_error (MT_ERR_BAD_SPEC, "unknown field '\xe4\xb8'");
    const char *text = json_string_value (json_object_get (mt_msg_body (error), "text"));
    CHECK_STR_CONTAINS (text, "unknown field");
    mt_msg_destroy (&error);
}

//  Fields packed as they are added go out with the body's, in one map, and
//  decode like any other; many of them outgrow the in-place buffer
static void
test_added_fields (void)
{
    mt_msg_t *msg = mt_msg_new ("ASSIGN");
    json_object_set_new (mt_msg_body (msg), "tree", json_pack ("{s:[i,s]}", "a", 1, "b"));
    CHECK (mt_msg_add_int (msg, "job", 42) == 0);
    CHECK (mt_msg_add_int (msg, "big", -(INT64_C (1) << 62)) == 0);
    CHECK (mt_msg_add_bool (msg, "existing", true) == 0);
    CHECK (mt_msg_add_bool (msg, "no", false) == 0);
    CHECK (mt_msg_add_str (msg, "spec", "{\"x\":1}", 7) == 0);
    CHECK (mt_msg_add_str (msg, "nul", "a\0b", 3) == 0);
    CHECK (json_object_size (mt_msg_body (msg)) == 1);      // added fields are not in the tree
    mt_msg_set_payload (msg, "xyz", 3);
    mt_msg_t *copy = s_round_trip (msg);
    json_t *body = mt_msg_body (copy);
    CHECK (json_object_size (body) == 7);
    CHECK (json_integer_value (json_object_get (body, "job")) == 42);
    CHECK (json_integer_value (json_object_get (body, "big")) == -(INT64_C (1) << 62));
    CHECK (json_is_true (json_object_get (body, "existing")));
    CHECK (json_is_false (json_object_get (body, "no")));
    CHECK (streq (json_string_value (json_object_get (body, "spec")), "{\"x\":1}"));
    CHECK (json_string_length (json_object_get (body, "nul")) == 3);
    CHECK (json_integer_value (json_array_get (json_object_get (
           json_object_get (body, "tree"), "a"), 0)) == 1);
    size_t size;
    CHECK (mt_msg_payload (copy, &size) && size == 3);
    mt_msg_destroy (&copy);
    mt_msg_destroy (&msg);

    msg = mt_msg_new ("MANY");
    char key [32], value [600];
    memset (value, 'v', sizeof value);
    for (int i = 0; i < 100; i++) {
        snprintf (key, sizeof key, "k%d", i);
        CHECK (mt_msg_add_str (msg, key, value, (size_t) i * 6) == 0);
    }
    copy = s_round_trip (msg);
    CHECK (json_object_size (mt_msg_body (copy)) == 100);
    CHECK (json_string_length (json_object_get (mt_msg_body (copy), "k99")) == 594);
    mt_msg_destroy (&copy);
    mt_msg_destroy (&msg);
}

static void
test_frames (void)
{
    unsigned char empty_map [] = { 0x80 };
    s_expect_fail (zmsg_new (), MT_ERR_BAD_MESSAGE, "3 or 4 frames (got 0)");
    zmsg_t *zmsg = zmsg_new ();
    zmsg_addstr (zmsg, MT_PROTOCOL);
    s_expect_fail (zmsg, MT_ERR_BAD_MESSAGE, "got 1");
    zmsg = zmsg_new ();
    zmsg_addstr (zmsg, MT_PROTOCOL);
    zmsg_addstr (zmsg, "PING");
    s_expect_fail (zmsg, MT_ERR_BAD_MESSAGE, "got 2");
    zmsg = s_frames ("PING", empty_map, 1);
    zmsg_addstr (zmsg, "payload");
    zmsg_addstr (zmsg, "extra");
    s_expect_fail (zmsg, MT_ERR_BAD_MESSAGE, "got 5");

    //  the signature: other versions, case, length, empty
    const char *signatures [] = { "MTP2", "mtp1", "MTP", "MTP11", "", "MTP1\n" };
    for (size_t i = 0; i < sizeof signatures / sizeof signatures [0]; i++) {
        zmsg = zmsg_new ();
        zmsg_addstr (zmsg, signatures [i]);
        zmsg_addstr (zmsg, "PING");
        zmsg_addmem (zmsg, empty_map, 1);
        s_expect_fail (zmsg, MT_ERR_VERSION, "signature");
    }
    zmsg = zmsg_new ();
    zmsg_addmem (zmsg, "MTP1\0", 5);
    zmsg_addstr (zmsg, "PING");
    zmsg_addmem (zmsg, empty_map, 1);
    s_expect_fail (zmsg, MT_ERR_VERSION, "signature");

    //  command names
    const char *commands [] = { "", "ping", "Ping", "PING PONG", "PING-2", "P\xc3\x89NG",
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456" };
    for (size_t i = 0; i < sizeof commands / sizeof commands [0]; i++)
        s_expect_fail (s_frames (commands [i], empty_map, 1), MT_ERR_BAD_MESSAGE, "command name");
    zmsg = zmsg_new ();
    zmsg_addstr (zmsg, MT_PROTOCOL);
    zmsg_addmem (zmsg, "PI\0NG", 5);
    zmsg_addmem (zmsg, empty_map, 1);
    s_expect_fail (zmsg, MT_ERR_BAD_MESSAGE, "command name");
    zmsg = zmsg_new ();
    zmsg_addstr (zmsg, MT_PROTOCOL);
    zmsg_addmem (zmsg, "PING\0", 5);
    zmsg_addmem (zmsg, empty_map, 1);
    s_expect_fail (zmsg, MT_ERR_BAD_MESSAGE, "command name");

    //  a 32-byte command is fine
    zmsg = s_frames ("ABCDEFGHIJKLMNOPQRSTUVWXYZ_01234", empty_map, 1);
    const char *code = NULL;
    char *cause = NULL;
    mt_msg_t *msg = mt_msg_decode (zmsg, &code, &cause);
    CHECK_MSG (msg, "%s", cause);
    CHECK (streq (mt_msg_command (msg), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_01234"));
    mt_msg_destroy (&msg);
    zmsg_destroy (&zmsg);

    //  an empty body frame
    s_expect_fail (s_frames ("PING", "", 0), MT_ERR_BAD_MESSAGE, "msgpack");
}

static void
test_sizes (void)
{
    unsigned char empty_map [] = { 0x80 };
    //  a payload one byte over the limit
    zmsg_t *zmsg = s_frames ("UPLOAD", empty_map, 1);
    char *big = calloc (1, MT_MAX_PAYLOAD + 1);
    zmsg_addmem (zmsg, big, MT_MAX_PAYLOAD + 1);
    s_expect_fail (zmsg, MT_ERR_TOO_LARGE, "payload");
    free (big);

    //  a body over the limit: one map holding a string that would be too long anyway
    size_t size = MT_MAX_BODY + 1;
    unsigned char *body = calloc (1, size);
    body [0] = 0x81;
    body [1] = 0xa1;
    body [2] = 'k';
    body [3] = 0xdb;
    uint32_t len = (uint32_t) (size - 8);
    body [4] = (unsigned char) (len >> 24);
    body [5] = (unsigned char) (len >> 16);
    body [6] = (unsigned char) (len >> 8);
    body [7] = (unsigned char) len;
    memset (body + 8, 'a', len);
    s_expect_fail (s_frames ("PING", body, size), MT_ERR_TOO_LARGE, "body");
    char *cause = NULL;
    CHECK (mt_msgpack_to_json ((char *) body, size, &cause) == NULL);
    CHECK_STR_CONTAINS (cause, "over the limit");
    free (cause);

    //  a string of MT_MAX_STRING passes, one byte more does not
    size = 8 + MT_MAX_STRING;
    len = MT_MAX_STRING;
    body [4] = (unsigned char) (len >> 24);
    body [5] = (unsigned char) (len >> 16);
    body [6] = (unsigned char) (len >> 8);
    body [7] = (unsigned char) len;
    cause = NULL;
    json_t *value = mt_msgpack_to_json ((char *) body, size, &cause);
    CHECK_MSG (value, "%s", cause);
    CHECK (json_string_length (json_object_get (value, "k")) == MT_MAX_STRING);
    json_decref (value);
    len++;
    size++;
    body [5] = (unsigned char) (len >> 16);
    body [6] = (unsigned char) (len >> 8);
    body [7] = (unsigned char) len;
    s_expect_body_fail (body, size, "over");
    free (body);
}

static void
test_truncation (void)
{
    json_t *sample = s_sample_body ();
    json_object_del (sample, "long");
    char *data = NULL;
    size_t size = 0;
    CHECK (mt_msgpack_from_json (sample, &data, &size) == 0);
    for (size_t prefix = 0; prefix < size; prefix++)
        s_expect_body_fail (data, prefix, "msgpack");

    //  trailing bytes after a valid map
    char *longer = malloc (size + 3);
    memcpy (longer, data, size);
    memcpy (longer + size, "\xc0\xc0\x01", 3);
    s_expect_body_fail (longer, size + 1, "1 trailing bytes");
    s_expect_body_fail (longer, size + 3, "3 trailing bytes");
    free (longer);
    free (data);
    json_decref (sample);
}

static void
test_malformed (void)
{
    struct { const char *bytes; size_t size; const char *needle; } cases [] = {
        //  bodies that are not maps
        { "\xc0", 1, "must be a msgpack map" },
        { "\x01", 1, "must be a msgpack map" },
        { "\x90", 1, "must be a msgpack map" },
        { "\xa3" "abc", 4, "must be a msgpack map" },
        //  the byte msgpack never uses
        { "\xc1", 1, "msgpack" },
        { "\x81\xa1k\xc1", 4, "msgpack" },
        //  keys that are not strings, or too long
        { "\x81\x01\x02", 3, "keys must be strings" },
        { "\x81\xc0\x02", 3, "keys must be strings" },
        { "\x81\x90\x02", 3, "keys must be strings" },
        { "\x81\x80\x02", 3, "keys must be strings" },
        { "\x81\xc4\x01k\x02", 5, "keys must be strings" },
        //  duplicate keys, and a NUL inside a key
        { "\x82\xa1k\x01\xa1k\x02", 7, "repeated" },
        { "\x81\xa3k\0k\x01", 6, "NUL" },
        //  bin and ext values, in maps and arrays
        { "\x81\xa1k\xc4\x02xy", 7, "binary and extension" },
        { "\x81\xa1k\xc5\x00\x01x", 7, "binary and extension" },
        { "\x81\xa1k\xd4\x01x", 6, "binary and extension" },
        { "\x81\xa1k\xd8\x01xxxxxxxxxxxxxxxx", 21, "binary and extension" },
        { "\x81\xa1k\xc7\x01\x05x", 7, "binary and extension" },
        { "\x81\xa1k\x91\xc4\x00", 6, "binary and extension" },
        //  invalid UTF-8: a bare continuation, an overlong form, a surrogate, past U+10FFFF
        { "\x81\xa1k\xa1\x80", 5, "UTF-8" },
        { "\x81\xa1k\xa2\xc0\xaf", 6, "UTF-8" },
        { "\x81\xa1k\xa3\xed\xa0\x80", 7, "UTF-8" },
        { "\x81\xa1k\xa4\xf4\x90\x80\x80", 8, "UTF-8" },
        { "\x81\xa1k\xa2\xe4\xb8", 6, "UTF-8" },
        { "\x81\xa2\xff\xfe\x01", 5, "UTF-8" },
        { "\x81\xa1k\x92\x01\xa1\xff", 7, "UTF-8" },
        //  integers past int64 (uint64 2^63 and 2^64-1)
        { "\x81\xa1k\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 12, "out of range" },
        { "\x81\xa1k\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 12, "out of range" },
        //  huge declared counts with tiny buffers
        { "\xdd\xff\xff\xff\xff", 5, "msgpack" },
        { "\xdd\xff\xff\xff\xff\x01\x02", 7, "msgpack" },
        { "\xdf\xff\xff\xff\xff", 5, "msgpack" },
        { "\xdf\x7f\xff\xff\xff\xa1k\x01", 8, "msgpack" },
        { "\xde\xff\xff", 3, "msgpack" },
        { "\xdc\xff\xff\x01", 4, "msgpack" },
        { "\x81\xa1k\xdb\xff\xff\xff\xff", 8, "msgpack" },
        { "\x81\xa1k\xda\xff\xff" "ab", 8, "msgpack" },
        { "\x81\xa1k\xd9\xff" "ab", 7, "msgpack" },
        { "\x81\xa1k\xc6\xff\xff\xff\xff", 8, "msgpack" },
        { "\x81\xa1k\xc9\xff\xff\xff\xff\x01", 9, "msgpack" },
        { "\x81\xa1k\x9f", 4, "msgpack" },
        { "\x8f", 1, "msgpack" },
        { "\x81\xa1k\xcb\x00\x00", 6, "msgpack" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        s_expect_body_fail (cases [i].bytes, cases [i].size, cases [i].needle);

    //  NaN and infinities (float32 and float64) arrive as nil
    const char *floats [] = {
        "\x83\xa1n\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00\xa1i\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"
        "\xa1m\xca\xff\x80\x00\x00" };
    char *cause = NULL;
    json_t *value = mt_msgpack_to_json (floats [0], 30, &cause);
    CHECK_MSG (value, "%s", cause);
    CHECK (json_is_null (json_object_get (value, "n")));
    CHECK (json_is_null (json_object_get (value, "i")));
    CHECK (json_is_null (json_object_get (value, "m")));
    json_decref (value);
    //  a float32 arrives as the same double; 2^63-1 as uint64 is fine
    value = mt_msgpack_to_json ("\x82\xa1" "f\xca\x3f\xc0\x00\x00\xa1u\xcf\x7f\xff\xff\xff\xff\xff\xff\xff",
                                19, &cause);
    CHECK_MSG (value, "%s", cause);
    CHECK (json_real_value (json_object_get (value, "f")) == 1.5);
    CHECK (json_integer_value (json_object_get (value, "u")) == INT64_MAX);
    json_decref (value);
    //  int64 min as int64
    value = mt_msgpack_to_json ("\x81\xa1i\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 12, &cause);
    CHECK (value && json_integer_value (json_object_get (value, "i")) == INT64_MIN);
    json_decref (value);
    //  an empty key and an empty string value (msgpack-c hands these over as NULL)
    value = mt_msgpack_to_json ("\x82\xa0\xa0\xa1k\x91\xa0", 7, &cause);
    CHECK_MSG (value, "%s", cause);
    CHECK (streq (json_string_value (json_object_get (value, "")), ""));
    json_decref (value);
    //  a key of 256 bytes passes, 257 does not
    unsigned char long_key [270] = { 0x81, 0xda, 0x01, 0x00 };
    memset (long_key + 4, 'k', 256);
    long_key [260] = 0xc0;
    value = mt_msgpack_to_json ((char *) long_key, 261, &cause);
    CHECK_MSG (value, "%s", cause);
    json_decref (value);
    long_key [3] = 0x01;                // 257 bytes
    long_key [260] = 'k';
    long_key [261] = 0xc0;
    s_expect_body_fail (long_key, 262, "256 bytes");
    free (cause);
}

static void
test_depth (void)
{
    //  8 levels of maps (the root counts) decode; a 9th does not, empty or not
    unsigned char body [4096];
    size_t size = 0;
    for (int level = 0; level < MT_MAX_DEPTH; level++) {
        body [size++] = 0x81;
        body [size++] = 0xa1;
        body [size++] = 'n';
    }
    body [size++] = 0x01;
    char *cause = NULL;
    json_t *value = mt_msgpack_to_json ((char *) body, size, &cause);
    CHECK_MSG (value, "%s", cause);
    json_decref (value);
    body [size - 1] = 0x80;
    s_expect_body_fail (body, size, "deeper");
    body [size - 1] = 0x90;
    s_expect_body_fail (body, size, "deeper");
    body [size - 1] = 0x91;
    body [size++] = 0x01;
    s_expect_body_fail (body, size, "deeper");

    //  1000 levels of arrays and of maps: an error, not a stack overflow
    size = 0;
    body [size++] = 0x81;
    body [size++] = 0xa1;
    body [size++] = 'n';
    for (int level = 0; level < 1000; level++)
        body [size++] = 0x91;
    body [size++] = 0xc0;
    s_expect_body_fail (body, size, "");
    size = 0;
    for (int level = 0; level < 1000; level++) {
        body [size++] = 0x81;
        body [size++] = 0xa1;
        body [size++] = 'n';
    }
    body [size++] = 0xc0;
    s_expect_body_fail (body, size, "");
    free (cause);
}

static void
test_getters (void)
{
    mt_msg_t *msg = mt_msg_new ("STATUS");
    json_t *body = mt_msg_body (msg);
    json_object_set_new (body, "job", json_integer (42));
    json_object_set_new (body, "neg", json_integer (-5));
    json_object_set_new (body, "big", json_integer (INT64_MAX));
    json_object_set_new (body, "real", json_real (2.5));
    json_object_set_new (body, "name", json_string ("abc"));
    json_object_set_new (body, "nul", json_stringn ("ab\0c", 4));
    json_object_set_new (body, "flag", json_true ());
    json_object_set_new (body, "nil", json_null ());
    mt_msg_t *copy = s_round_trip (msg);     // the getters read decoded bodies
    mt_msg_destroy (&msg);
    msg = copy;

    char *cause = NULL;
    int64_t i = -1;
    CHECK (mt_msg_get_int (msg, "job", 0, 100, &i, &cause) == 0 && i == 42);
    CHECK (mt_msg_get_int (msg, "big", INT64_MIN, INT64_MAX, &i, &cause) == 0 && i == INT64_MAX);
    CHECK (mt_msg_get_int (msg, "job", 0, 41, &i, &cause) == -1 && i == INT64_MAX);
    CHECK_STR_CONTAINS (cause, "'job' must be between 0 and 41 (got 42)");
    CHECK_STR_CONTAINS (cause, "STATUS");
    CHECK (mt_msg_get_int (msg, "neg", 0, 100, &i, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "got -5");
    CHECK (mt_msg_get_int (msg, "missing", 0, 100, &i, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'missing' is missing");
    CHECK (mt_msg_get_int (msg, "nil", 0, 100, &i, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'nil' is missing");
    CHECK (mt_msg_get_int (msg, "real", 0, 100, &i, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'real' must be an integer");
    CHECK (mt_msg_get_int (msg, "name", 0, 100, &i, &cause) == -1);
    CHECK (mt_msg_get_int (msg, "job", 0, 100, &i, NULL) == 0);   // cause is optional
    CHECK (mt_msg_get_int (msg, "name", 0, 100, &i, NULL) == -1);

    i = 7;
    CHECK (mt_msg_opt_int (msg, "missing", 0, 100, &i, &cause) == 0 && i == 7);
    CHECK (mt_msg_opt_int (msg, "nil", 0, 100, &i, &cause) == 0 && i == 7);
    CHECK (mt_msg_opt_int (msg, "job", 0, 100, &i, &cause) == 0 && i == 42);
    CHECK (mt_msg_opt_int (msg, "job", 50, 100, &i, &cause) == -1 && i == 42);
    CHECK (mt_msg_opt_int (msg, "flag", 0, 100, &i, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'flag' must be an integer");

    double r = 0;
    CHECK (mt_msg_get_real (msg, "real", &r, &cause) == 0 && r == 2.5);
    CHECK (mt_msg_get_real (msg, "job", &r, &cause) == 0 && r == 42);    // integers are numbers
    CHECK (mt_msg_get_real (msg, "name", &r, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'name' must be a number");
    CHECK (mt_msg_get_real (msg, "missing", &r, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "missing");

    const char *s = NULL;
    CHECK (mt_msg_get_str (msg, "name", 3, &s, &cause) == 0 && streq (s, "abc"));
    CHECK (mt_msg_get_str (msg, "name", 2, &s, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'name' is over 2 bytes");
    CHECK (mt_msg_get_str (msg, "nul", 100, &s, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'nul' holds a NUL byte");
    CHECK (mt_msg_get_str (msg, "job", 100, &s, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'job' must be a string");
    CHECK (mt_msg_get_str (msg, "missing", 100, &s, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "missing");
    s = "kept";
    CHECK (mt_msg_opt_str (msg, "missing", 100, &s, &cause) == 0 && streq (s, "kept"));
    CHECK (mt_msg_opt_str (msg, "nil", 100, &s, &cause) == 0 && streq (s, "kept"));
    CHECK (mt_msg_opt_str (msg, "nul", 100, &s, &cause) == -1 && streq (s, "kept"));
    CHECK (mt_msg_opt_str (msg, "real", 100, &s, &cause) == -1);
    CHECK (mt_msg_opt_str (msg, "name", 100, &s, &cause) == 0 && streq (s, "abc"));

    bool b = false;
    CHECK (mt_msg_get_bool (msg, "flag", &b, &cause) == 0 && b);
    CHECK (mt_msg_get_bool (msg, "job", &b, &cause) == -1);
    CHECK_STR_CONTAINS (cause, "'job' must be true or false");
    CHECK (mt_msg_get_bool (msg, "nil", &b, &cause) == -1);
    CHECK (mt_msg_get_bool (msg, "missing", &b, &cause) == -1);
    free (cause);
    mt_msg_destroy (&msg);
}

//  Random byte flips, insertions, deletions and splices over valid encodings,
//  for about a second: every result decodes or fails cleanly.
static void
test_mutations (void)
{
    json_t *sample = s_sample_body ();
    json_object_del (sample, "long");
    char *seeds [3];
    size_t sizes [3];
    CHECK (mt_msgpack_from_json (sample, &seeds [0], &sizes [0]) == 0);
    json_t *small = json_pack ("{s:i, s:[s, f, b], s:{s:n}}", "job", 7, "l", "x", 0.5, 1, "m", "k");
    CHECK (mt_msgpack_from_json (small, &seeds [1], &sizes [1]) == 0);
    CHECK (mt_msgpack_from_json (json_object_get (sample, "deep"), &seeds [2], &sizes [2]) == 0);

    uint64_t state = 0x9e3779b97f4a7c15ULL;
    unsigned char buffer [4096];
    clock_t start = clock ();
    long runs = 0, decoded = 0;
    while (runs < 2000 || (clock () - start < CLOCKS_PER_SEC && runs < 1000000)) {
        int which = (int) (s_rand (&state) % 3);
        size_t size = sizes [which];
        memcpy (buffer, seeds [which], size);
        int edits = 1 + (int) (s_rand (&state) % 4);
        for (int edit = 0; edit < edits && size > 0; edit++) {
            size_t at = (size_t) (s_rand (&state) % size);
            switch (s_rand (&state) % 5) {
                case 0: buffer [at] ^= (unsigned char) (1u << (s_rand (&state) % 8)); break;
                case 1: buffer [at] = (unsigned char) s_rand (&state); break;
                case 2: size = at; break;
                case 3:
                    if (size < sizeof buffer) {
                        memmove (buffer + at + 1, buffer + at, size - at);
                        buffer [at] = (unsigned char) s_rand (&state);
                        size++;
                    }
                    break;
                default:
                    memmove (buffer + at, buffer + at + 1, size - at - 1);
                    size--;
            }
        }
        zmsg_t *zmsg = s_frames ("PING", buffer, size);
        const char *code = NULL;
        char *cause = NULL;
        mt_msg_t *msg = mt_msg_decode (zmsg, &code, &cause);
        if (msg) {
            decoded++;
            CHECK (json_is_object (mt_msg_body (msg)));
            mt_msg_t *again = s_round_trip (msg);
            CHECK (json_equal (mt_msg_body (again), mt_msg_body (msg)));
            mt_msg_destroy (&again);
        }
        else
            CHECK_MSG (cause && code, "a failed decode without a cause or code");
        mt_msg_destroy (&msg);
        free (cause);
        zmsg_destroy (&zmsg);
        runs++;
    }
    printf ("test_codec: %ld mutations, %ld decoded\n", runs, decoded);
    for (int i = 0; i < 3; i++)
        free (seeds [i]);
    json_decref (small);
    json_decref (sample);
}

//  Write seed inputs for tests/fuzz/corpus_codec (framed as fuzz_codec reads
//  them: a frame count byte, then 2-byte big-endian lengths before all frames
//  but the last, which takes the rest).
static int
s_write_corpus (const char *dir)
{
    json_t *sample = s_sample_body ();
    json_object_del (sample, "long");
    json_t *bodies [] = {
        json_object (),
        json_pack ("{s:s}", "code", "not_found"),
        json_pack ("{s:i, s:s, s:i, s:b}", "req", 1, "hash", "ab", "offset", 0, "last", 1),
        json_pack ("{s:{s:s, s:[i, i], s:f}}", "spec", "target", "y", "hidden", 8, 4, "lr", 0.01),
        sample,
    };
    const char *commands [] = { "PING", "ERROR", "UPLOAD", "SUBMIT", "JOB" };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies [0]; i++) {
        char *data = NULL;
        size_t size = 0;
        CHECK (mt_msgpack_from_json (bodies [i], &data, &size) == 0);
        char path [4096];
        snprintf (path, sizeof path, "%s/seed_%s", dir, commands [i]);
        FILE *file = fopen (path, "wb");
        CHECK_MSG (file, "cannot write %s", path);
        bool payload = i == 2;
        fputc (payload ? 4 : 3, file);
        const char *frames [] = { MT_PROTOCOL, commands [i], data };
        size_t lengths [] = { 4, strlen (commands [i]), size };
        for (int f = 0; f < 3; f++) {
            if (f < 2 || payload) {
                fputc ((int) (lengths [f] >> 8), file);
                fputc ((int) (lengths [f] & 0xff), file);
            }
            fwrite (frames [f], 1, lengths [f], file);
        }
        if (payload)
            fwrite ("chunk\0bytes", 1, 11, file);
        fclose (file);
        free (data);
        json_decref (bodies [i]);
    }
    return 0;
}

//  mt_json_compact: text that json_loads reads back to the same value, the
//  same text as json_dumps where the two agree on escapes and reals.
static void
test_json_compact (void)
{
    json_t *value = json_pack ("{s:i, s:I, s:I, s:s, s:[b, b, n, {}, []], s:{s:{s:s}}}",
                               "zero", 0, "min", INT64_MIN, "max", INT64_MAX,
                               "text", "plain \u00e9 text / with \"quotes\" and \\",
                               "list", 1, 0, "nested", "a", "b", "c");
    CHECK (value);
    char *mine = mt_json_compact (value);
    char *theirs = json_dumps (value, JSON_COMPACT);
    CHECK (mine && theirs && streq (mine, theirs));
    free (mine);
    free (theirs);
    json_decref (value);
    //  Escapes and reals read back exactly (NUL inside a value included)
    const double reals [] = { 0.1, -0.0, 1.0, 1e300, 5e-324, -2.5e-7, 123456789.0 };
    value = json_object ();
    json_object_set_new (value, "controls", json_stringn ("a\0b\x01" "c\n\t\r\x1f\"\\", 11));
    json_t *list = json_array ();
    for (size_t i = 0; i < sizeof reals / sizeof reals [0]; i++)
        json_array_append_new (list, json_real (reals [i]));
    json_object_set_new (value, "reals", list);
    mine = mt_json_compact (value);
    CHECK (mine);
    json_error_t error;
    json_t *back = json_loads (mine, JSON_ALLOW_NUL, &error);
    CHECK_MSG (back, "%s: %s", mine, error.text);
    CHECK (json_equal (back, value));
    for (size_t i = 0; i < sizeof reals / sizeof reals [0]; i++)
        CHECK (json_is_real (json_array_get (json_object_get (back, "reals"), i)));
    CHECK (signbit (json_real_value (json_array_get (json_object_get (back, "reals"), 1))));
    json_decref (back);
    free (mine);
    json_decref (value);
    //  Only objects and arrays
    value = json_integer (1);
    CHECK (mt_json_compact (value) == NULL);
    json_decref (value);
}

int
main (int argc, char *argv [])
{
    if (argc == 3 && streq (argv [1], "--corpus"))
        return s_write_corpus (argv [2]);
    test_round_trip ();
    test_new_and_encode_limits ();
    test_added_fields ();
    test_frames ();
    test_sizes ();
    test_truncation ();
    test_malformed ();
    test_depth ();
    test_getters ();
    test_mutations ();
    test_json_compact ();
    printf ("test_codec: ok\n");
    return 0;
}
