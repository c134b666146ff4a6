/*  msg - one protocol message: a command, a msgpack map body and an optional payload  */
#ifndef MT_MSG_H_INCLUDED
#define MT_MSG_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define MT_PROTOCOL        "MTP1"       // frame 0 of every message: signature and version
#define MT_MAX_COMMAND     32           // bytes in a command name
#define MT_MAX_BODY        (4 << 20)    // bytes in a msgpack body
#define MT_MAX_PAYLOAD     (1 << 20)    // bytes in a payload frame (one chunk)
#define MT_MAX_DEPTH       8            // nesting of maps and arrays in a body
#define MT_MAX_STRING      (1 << 20)    // bytes in one string of a body
#define MT_MAX_MESSAGE     (MT_MAX_BODY + MT_MAX_PAYLOAD + 4096)   // ZMQ_MAXMSGSIZE

//  Error codes carried by ERROR replies (field "code").
#define MT_ERR_BAD_MESSAGE   "bad_message"    // frames, msgpack or fields are malformed
#define MT_ERR_BAD_COMMAND   "bad_command"    // unknown command for this socket
#define MT_ERR_BAD_SPEC      "bad_spec"       // the spec failed validation
#define MT_ERR_NOT_FOUND     "not_found"      // no such job or blob
#define MT_ERR_BAD_STATE     "bad_state"      // the job's state does not allow it
#define MT_ERR_STORAGE       "storage"        // the broker could not write its database or disk
#define MT_ERR_TOO_LARGE     "too_large"      // over a size limit
#define MT_ERR_BAD_HASH      "bad_hash"       // uploaded bytes do not match their SHA-256
#define MT_ERR_KEY_CONFLICT  "key_conflict"   // a SUBMIT's key names a job of another spec
#define MT_ERR_UNKNOWN_PEER  "unknown_peer"   // a worker message before its HELLO
#define MT_ERR_VERSION       "version"        // protocol signature or version mismatch
#define MT_ERR_RETRY_LATER   "retry_later"    // busy for now (upload slots, a blob begun again): retry with backoff
#define MT_ERR_FORBIDDEN     "forbidden"      // the job is another client's (keys on): ask its owner or an admin

typedef struct mt_msg_t mt_msg_t;

//  A new message with an empty body map. Returns NULL if command is too long.
mt_msg_t *mt_msg_new (const char *command);
void mt_msg_destroy (mt_msg_t **self_p);

const char *mt_msg_command (const mt_msg_t *self);
bool mt_msg_is (const mt_msg_t *self, const char *command);

//  The body, a JSON object (borrowed; add fields with jansson calls).
json_t *mt_msg_body (mt_msg_t *self);

//  Fields packed as they are added, for messages sent many times a second
//  (no JSON value is built for them). They go out after the body's fields,
//  in the same map, but mt_msg_body does not show them; a key must not be
//  in both. Returns 0, or -1 when out of memory (the message then fails to
//  encode).
int mt_msg_add_int (mt_msg_t *self, const char *key, int64_t value);
int mt_msg_add_bool (mt_msg_t *self, const char *key, bool value);
int mt_msg_add_str (mt_msg_t *self, const char *key, const char *value, size_t len);

//  The payload (binary chunk), NULL when none. Borrowed.
const void *mt_msg_payload (const mt_msg_t *self, size_t *size);
//  Set the payload (copied).
void mt_msg_set_payload (mt_msg_t *self, const void *data, size_t size);

//  Encode into a zmsg (frames: signature, command, body[, payload]); the
//  caller owns the result. NULL when a body value cannot be encoded.
zmsg_t *mt_msg_encode (const mt_msg_t *self);

//  Decode a zmsg (identity frames already removed). Never trusts its input:
//  returns NULL with *cause (caller frees) for a wrong signature, a bad command
//  name, malformed or truncated msgpack, a body that is not a map, non-string
//  keys, nesting over MT_MAX_DEPTH, strings over MT_MAX_STRING or not UTF-8,
//  extension types, or sizes over the limits. *code gets an MT_ERR_ string.
mt_msg_t *mt_msg_decode (zmsg_t *zmsg, const char **code, char **cause);

//  Encode and send on sock (after an optional routing identity frame).
//  Returns 0 or -1.
int mt_msg_send (const mt_msg_t *self, zsock_t *sock, zframe_t *identity);

//  The same on a ZeroMQ socket handle (zsock_resolve), the identity as bytes
//  (NULL for none), with no czmq frames on the way. Returns 0 or -1.
int mt_msg_send_to (const mt_msg_t *self, void *handle, const void *identity,
                    size_t identity_size);

//  One received message's frames, read straight from ZeroMQ: the first
//  MT_MAX_FRAMES are kept (routing identity, signature, command, body,
//  payload, one more to tell a message that has too many).
#define MT_MAX_FRAMES 6
typedef struct {
    zmq_msg_t part [MT_MAX_FRAMES];
    size_t count;               // frames kept in part
    size_t total;               // frames the message had
} mt_frames_t;

//  Read one whole message without waiting. Returns 1, 0 when none is
//  waiting, -1 on a socket error (errno set). A message read must be
//  released with mt_frames_close.
int mt_frames_recv (mt_frames_t *self, void *handle);
void mt_frames_close (mt_frames_t *self);
const void *mt_frames_data (mt_frames_t *self, size_t index);
size_t mt_frames_size (mt_frames_t *self, size_t index);

//  Decode the message in frames first.. (the frames before it are routing
//  identities), with the checks of mt_msg_decode.
mt_msg_t *mt_frames_decode (mt_frames_t *self, size_t first, const char **code, char **cause);

//  Typed field reads. Each returns 0 and sets *out, or -1 with *cause
//  naming the field (missing, wrong type, out of range).
int mt_msg_get_int (mt_msg_t *self, const char *key, int64_t lo, int64_t hi,
                    int64_t *out, char **cause);
int mt_msg_get_real (mt_msg_t *self, const char *key, double *out, char **cause);
int mt_msg_get_str (mt_msg_t *self, const char *key, size_t max, const char **out,
                    char **cause);
int mt_msg_get_bool (mt_msg_t *self, const char *key, bool *out, char **cause);
//  Optional variants: a missing key (or nil) leaves *out as it is and returns 0.
int mt_msg_opt_int (mt_msg_t *self, const char *key, int64_t lo, int64_t hi,
                    int64_t *out, char **cause);
int mt_msg_opt_str (mt_msg_t *self, const char *key, size_t max, const char **out,
                    char **cause);

//  A convenience: an ERROR message with code and text.
mt_msg_t *mt_msg_error (const char *code, const char *text);

//  Pack a JSON value as msgpack into a new buffer (for tests and fuzzing);
//  returns 0 or -1.
int mt_msgpack_from_json (json_t *value, char **data, size_t *size);
//  A JSON string of len bytes of text; NULL when it is not UTF-8. ASCII text
//  skips jansson's byte-by-byte UTF-8 check.
json_t *mt_json_string (const char *text, size_t len);

//  The compact JSON text of value (an object or array), as json_dumps with
//  JSON_COMPACT writes it, in one pass; reals with 17 significant digits.
//  The caller frees it. NULL when out of memory or not an object or array.
char *mt_json_compact (const json_t *value);

//  Unpack a msgpack buffer into a JSON value with the decoder's limits;
//  returns NULL with *cause.
json_t *mt_msgpack_to_json (const char *data, size_t size, char **cause);

#endif
