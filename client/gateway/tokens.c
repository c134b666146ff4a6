/*  tokens - the gateway's bearer tokens: NAME ROLE SECRET lines, checked in constant time  */
#include "tokens.h"
#include "mt/util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    tokens_role_t role;
    unsigned char hash [crypto_hash_sha256_BYTES];
} s_token_t;

struct tokens_t {
    s_token_t *items;
    int count;
};

static const char *s_roles [] = { "none", "read", "submit", "admin" };

static int s_parse_line (tokens_t *self, char *line, const char *path, int lineno,
                         char **cause);

const char *
tokens_role_name (tokens_role_t role)
{
    return role <= TOKENS_ADMIN ? s_roles [role] : "none";
}

tokens_t *
tokens_load (const char *path, char **cause)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        mt_fail (cause, "--tokens: cannot read '%s': %s", path, strerror (errno));
        return NULL;
    }
    tokens_t *self = calloc (1, sizeof *self);
    if (self)
        self->items = calloc (TOKENS_MAX, sizeof (s_token_t));
    if (!self || !self->items) {
        mt_fail (cause, "out of memory");
        goto err;
    }
    char line [TOKENS_MAX_LINE + 2];
    int lineno = 0;
    while (fgets (line, sizeof line, file)) {
        lineno++;
        size_t len = strlen (line);
        if (len > TOKENS_MAX_LINE && line [len - 1] != '\n') {
            mt_fail (cause, "--tokens: %s line %d is longer than %d bytes", path, lineno,
                     TOKENS_MAX_LINE);
            goto err;
        }
        if (s_parse_line (self, line, path, lineno, cause))
            goto err;
    }
    if (self->count == 0) {
        mt_fail (cause, "--tokens: %s holds no token; write lines NAME ROLE SECRET (roles "
                 "read, submit, admin)", path);
        goto err;
    }
    fclose (file);
    return self;
err:
    fclose (file);
    tokens_destroy (&self);
    return NULL;
}

//  One line: skipped when blank or a comment, else a token added.
static int
s_parse_line (tokens_t *self, char *line, const char *path, int lineno, char **cause)
{
    char *save = NULL;
    char *name = strtok_r (line, " \t\r\n", &save);
    if (!name || name [0] == '#')
        return 0;
    char *role = strtok_r (NULL, " \t\r\n", &save);
    char *secret = role ? strtok_r (NULL, " \t\r\n", &save) : NULL;
    if (!secret || strtok_r (NULL, " \t\r\n", &save))
        return mt_fail (cause, "--tokens: %s line %d is not NAME ROLE SECRET", path, lineno);
    tokens_role_t value = TOKENS_NONE;
    for (int i = TOKENS_READ; i <= TOKENS_ADMIN; i++)
        if (strcmp (role, s_roles [i]) == 0)
            value = (tokens_role_t) i;
    if (value == TOKENS_NONE)
        return mt_fail (cause, "--tokens: %s line %d: role '%s' is not one of read, submit, "
                        "admin", path, lineno, role);
    if (strlen (secret) < TOKENS_MIN_SECRET)
        return mt_fail (cause, "--tokens: %s line %d: the secret is shorter than %d bytes; "
                        "make one with: head -c 24 /dev/urandom | base64", path, lineno,
                        TOKENS_MIN_SECRET);
    if (self->count == TOKENS_MAX)
        return mt_fail (cause, "--tokens: %s holds more than %d tokens", path, TOKENS_MAX);
    s_token_t *token = &self->items [self->count];
    crypto_hash_sha256 (token->hash, (unsigned char *) secret, strlen (secret));
    sodium_memzero (secret, strlen (secret));
    for (int i = 0; i < self->count; i++)
        if (strcmp (self->items [i].name, name) == 0)
            return mt_fail (cause, "--tokens: %s line %d: the name '%s' is used twice; give "
                            "each token its own name", path, lineno, name);
    for (int i = 0; i < self->count; i++)
        if (sodium_memcmp (self->items [i].hash, token->hash, sizeof token->hash) == 0)
            return mt_fail (cause, "--tokens: %s line %d: the secret of '%s' is also '%s''s; "
                            "give each token its own", path, lineno, name,
                            self->items [i].name);
    token->name = strdup (name);
    token->role = value;
    if (!token->name)
        return mt_fail (cause, "out of memory");
    self->count++;
    return 0;
}

void
tokens_destroy (tokens_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tokens_t *self = *self_p;
    for (int i = 0; self->items && i < self->count; i++)
        free (self->items [i].name);
    free (self->items);
    free (self);
    *self_p = NULL;
}

tokens_role_t
tokens_check (const tokens_t *self, const char *secret, const char **name)
{
    unsigned char hash [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) secret, strlen (secret));
    tokens_role_t role = TOKENS_NONE;
    for (int i = 0; i < self->count; i++)
        if (sodium_memcmp (self->items [i].hash, hash, sizeof hash) == 0) {
            role = self->items [i].role;
            *name = self->items [i].name;
        }
    return role;
}
