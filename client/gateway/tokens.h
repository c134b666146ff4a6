/*  tokens - the gateway's bearer tokens: NAME ROLE SECRET lines, checked in constant time  */
#ifndef MT_GW_TOKENS_H_INCLUDED
#define MT_GW_TOKENS_H_INCLUDED

#include <stdbool.h>

//  Roles, each allowed what the one below it is and more.
typedef enum {
    TOKENS_NONE = 0,            // no valid token
    TOKENS_READ,                // GET every /api route and /metrics
    TOKENS_SUBMIT,              // also upload, submit and stop
    TOKENS_ADMIN                // everything
} tokens_role_t;

#define TOKENS_MAX          1024    // lines in a tokens file
#define TOKENS_MIN_SECRET   16      // bytes a secret has at least
#define TOKENS_MAX_LINE     1024    // bytes of one line

typedef struct tokens_t tokens_t;

//  Read path: one token a line, `NAME ROLE SECRET` separated by spaces or
//  tabs (blank lines and lines starting with # are skipped). Only the
//  SHA-256 of each secret is kept. NULL with *cause naming the line when
//  one is malformed, a role unknown, a secret short or used twice.
tokens_t *tokens_load (const char *path, char **cause);
void tokens_destroy (tokens_t **self_p);

//  The token whose secret is secret (compared through SHA-256 with
//  sodium_memcmp, every line looked at): its role and *name (borrowed), or
//  TOKENS_NONE.
tokens_role_t tokens_check (const tokens_t *self, const char *secret, const char **name);

//  "read", "submit", "admin" (or "none").
const char *tokens_role_name (tokens_role_t role);

#endif
