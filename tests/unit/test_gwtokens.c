/*  test_gwtokens - the gateway's tokens file: good lines, comments, bad lines, roles, short and shared secrets, duplicate names  */
#include "testutil.h"
#include "gateway/tokens.h"
#include <sodium.h>

static char s_dir [256];

//  Write text to a file in the test folder; its path (static, one at a time).
static const char *
s_file (const char *text)
{
    static char path [512];
    snprintf (path, sizeof path, "%s/tokens", s_dir);
    FILE *file = fopen (path, "w");
    CHECK (file);
    fputs (text, file);
    fclose (file);
    return path;
}

//  A file that loads gives NULL; the cause must contain want.
static void
s_refused (const char *text, const char *want)
{
    char *cause = NULL;
    tokens_t *tokens = tokens_load (s_file (text), &cause);
    CHECK_MSG (!tokens, "should refuse: %s", text);
    CHECK_MSG (cause, "no cause for: %s", text);
    CHECK_STR_CONTAINS (cause, want);
    free (cause);
}

//  Comments, blank lines, tabs; each secret gives its own name and role
static void
test_good (void)
{
    char *cause = NULL;
    tokens_t *tokens = tokens_load (s_file (
        "# name role secret\n\n"
        "viewer read 0123456789abcdef\n"
        "ci\tsubmit\tsubmit-secret-0123456\r\n"
        "   \n"
        "ops admin admin-secret-abcdefgh"), &cause);
    CHECK_MSG (tokens, "%s", cause ? cause : "");
    const char *name = NULL;
    CHECK (tokens_check (tokens, "0123456789abcdef", &name) == TOKENS_READ);
    CHECK_STR_EQ (name, "viewer");
    CHECK (tokens_check (tokens, "submit-secret-0123456", &name) == TOKENS_SUBMIT);
    CHECK_STR_EQ (name, "ci");
    CHECK (tokens_check (tokens, "admin-secret-abcdefgh", &name) == TOKENS_ADMIN);
    CHECK_STR_EQ (name, "ops");
    //  wrong, a prefix, a longer one, empty: none
    CHECK (tokens_check (tokens, "0123456789abcdeX", &name) == TOKENS_NONE);
    CHECK (tokens_check (tokens, "0123456789abcde", &name) == TOKENS_NONE);
    CHECK (tokens_check (tokens, "0123456789abcdef0", &name) == TOKENS_NONE);
    CHECK (tokens_check (tokens, "", &name) == TOKENS_NONE);
    CHECK_STR_EQ (tokens_role_name (TOKENS_SUBMIT), "submit");
    CHECK_STR_EQ (tokens_role_name (TOKENS_NONE), "none");
    tokens_destroy (&tokens);
    CHECK (!tokens);
    tokens_destroy (&tokens);
}

//  Each malformed file is refused with the line and what to fix
static void
test_bad (void)
{
    s_refused ("a read\n", "line 1 is not NAME ROLE SECRET");
    s_refused ("# c\na read 0123456789abcdef extra\n", "line 2 is not NAME ROLE SECRET");
    s_refused ("a reader 0123456789abcdef\n", "role 'reader' is not one of read, submit, admin");
    s_refused ("a read 0123456789abcde\n", "shorter than 16 bytes");
    s_refused ("a read 0123456789abcdef\nb admin 0123456789abcdef\n",
               "line 2: the secret of 'b' is also 'a''s");
    s_refused ("a read 0123456789abcdef\na admin fedcba9876543210\n",
               "line 2: the name 'a' is used twice");
    s_refused ("# only comments\n\n", "holds no token");
    s_refused ("", "holds no token");
    char line [TOKENS_MAX_LINE + 64];
    memset (line, 'x', sizeof line - 2);
    line [sizeof line - 2] = '\n';
    line [sizeof line - 1] = 0;
    s_refused (line, "longer than 1024 bytes");
    char *cause = NULL;
    char path [512];
    snprintf (path, sizeof path, "%s/none", s_dir);
    CHECK (!tokens_load (path, &cause));
    CHECK_STR_CONTAINS (cause, "--tokens");
    free (cause);
}

//  The last of many tokens is found as the first is (every line looked at)
static void
test_many (void)
{
    size_t cap = (size_t) TOKENS_MAX * 64 + 64;
    char *text = calloc (1, cap);
    CHECK (text);
    size_t len = 0;
    for (int i = 0; i < TOKENS_MAX; i++)
        len += (size_t) snprintf (text + len, cap - len, "t%d read secret-%016d\n", i, i);
    char *cause = NULL;
    tokens_t *tokens = tokens_load (s_file (text), &cause);
    CHECK_MSG (tokens, "%s", cause ? cause : "");
    const char *name = NULL;
    char secret [64];
    snprintf (secret, sizeof secret, "secret-%016d", TOKENS_MAX - 1);
    CHECK (tokens_check (tokens, secret, &name) == TOKENS_READ);
    CHECK_STR_EQ (name, "t1023");
    tokens_destroy (&tokens);
    //  one more than TOKENS_MAX is refused
    snprintf (text + len, cap - len, "extra read secret-extra-0000000\n");
    s_refused (text, "more than 1024 tokens");
    free (text);
}

int
main (void)
{
    CHECK (sodium_init () >= 0);
    test_temp_dir (s_dir, sizeof s_dir, "test_gwtokens");
    test_good ();
    test_bad ();
    test_many ();
    test_remove_dir (s_dir);
    printf ("test_gwtokens: OK\n");
    return 0;
}
