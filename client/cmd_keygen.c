/*  cmd_keygen - `mtclient keygen NAME`: make a CurveZMQ key pair as two zcert files, offline  */
#include "cmd.h"
#include "mt/curve.h"
#include "mt/util.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYGEN_NAME_MAX 64      // bytes in a key name at most

enum { O_DIR = CMD_OPT_LOCAL, O_FORCE };

typedef struct {
    const char *dir;            // --dir DIR, default "."
    bool force;                 // --force: replace existing files
} s_keygen_t;

static int s_option (int opt, const char *arg, void *keygen_p, char **cause);
static int s_check_name (const char *name, char **cause);
static int s_write (const s_keygen_t *keygen, const char *name, const char *public_path,
                    const char *secret_path, zcert_t *cert, char **cause);
static int s_exec (client_t *client, int argc, char **argv);

const cmd_entry_t cmd_keygen_entry = {
    .name = "keygen",
    .usage = "NAME [--dir DIR] [--force]",
    .summary = "make a CurveZMQ key pair: DIR/NAME (public) and DIR/NAME_secret (private), offline",
    .help = "  --dir DIR      where to write the two files (default: the current folder; made\n"
            "                 if missing, mode 0700)\n"
            "  --force        replace files that exist (default: refuse)\n"
            "DIR/NAME (mode 0644) is the public cert: copy it to the broker's keys folder,\n"
            "under clients/, workers/ or admins/ (a client that may act on every job).\n"
            "DIR/NAME_secret (mode 0600) holds the secret key:\n"
            "it stays on this machine and is given with --cert. `mtclient keygen broker\n"
            "--dir KEYS` makes the broker's own pair (KEYS/broker_secret for mtbroker --keys\n"
            "KEYS; KEYS/broker for everyone's --broker-key).\n",
    .exec = s_exec,
};

static int
s_option (int opt, const char *arg, void *keygen_p, char **cause)
{
    s_keygen_t *keygen = keygen_p;
    if (opt == O_FORCE) {
        keygen->force = true;
        return 0;
    }
    if (*arg == 0)
        return mt_fail (cause, "keygen: --dir is empty");
    keygen->dir = arg;
    return 0;
}

//  A name is a file name: letters, digits, '.', '_', '-', not starting with
//  '.', and not ending in _secret (that suffix is the private file's).
static int
s_check_name (const char *name, char **cause)
{
    size_t len = strlen (name);
    if (len == 0 || len > KEYGEN_NAME_MAX || name [0] == '.'
    ||  strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
        return mt_fail (cause, "keygen: '%s' is not a key name (1 to %d letters, digits, '.', "
                        "'_' or '-', not starting with '.')", name, KEYGEN_NAME_MAX);
    size_t suffix = strlen (MT_CURVE_SECRET_SUFFIX);
    if (len >= suffix && strcmp (name + len - suffix, MT_CURVE_SECRET_SUFFIX) == 0)
        return mt_fail (cause, "keygen: a key name may not end in %s", MT_CURVE_SECRET_SUFFIX);
    return 0;
}

//  The secret file is written under umask 077 and chmod-ed 0600 as well, so
//  no other user can read it even for a moment; the public one is 0644.
static int
s_write (const s_keygen_t *keygen, const char *name, const char *public_path,
         const char *secret_path, zcert_t *cert, char **cause)
{
    if (mkdir (keygen->dir, 0700) && errno != EEXIST)
        return mt_fail (cause, "keygen: cannot make %s: %s", keygen->dir, strerror (errno));
    const char *paths [2] = { public_path, secret_path };
    for (int i = 0; i < 2 && !keygen->force; i++)
        if (access (paths [i], F_OK) == 0)
            return mt_fail (cause, "keygen: %s exists; keep it, pick another name, or give "
                            "--force to replace it", paths [i]);
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "made-by", "mtclient keygen");
    mode_t old = umask (077);
    unlink (secret_path);       // an old file would keep its mode
    int rc = zcert_save_secret (cert, secret_path);
    umask (old);
    if (rc || chmod (secret_path, 0600))
        return mt_fail (cause, "keygen: cannot write %s: %s", secret_path, strerror (errno));
    if (zcert_save_public (cert, public_path) || chmod (public_path, 0644))
        return mt_fail (cause, "keygen: cannot write %s: %s", public_path, strerror (errno));
    return 0;
}

static int
s_exec (client_t *client, int argc, char **argv)
{
    s_keygen_t keygen = { ".", false };
    char *operands [1];
    int n = 0;
    char *cause = NULL, *public_path = NULL, *secret_path = NULL;
    zcert_t *cert = NULL;
    int code = CMD_EXIT_OK;
    if (cmd_parse (client, &cmd_keygen_entry, argc, argv, "", (struct option []) {
                       { "dir", required_argument, NULL, O_DIR },
                       { "force", no_argument, NULL, O_FORCE },
                       CMD_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } },
                   s_option, &keygen, operands, 1, &n, &cause))
        goto fail;
    if (n != 1) {
        client->usage_error = true;
        mt_fail (&cause, "keygen: give a NAME (usage: mtclient keygen %s)", cmd_keygen_entry.usage);
        goto fail;
    }
    if (s_check_name (operands [0], &cause)) {
        client->usage_error = true;
        goto fail;
    }
    if (asprintf (&public_path, "%s/%s", keygen.dir, operands [0]) < 0
    ||  asprintf (&secret_path, "%s/%s%s", keygen.dir, operands [0], MT_CURVE_SECRET_SUFFIX) < 0
    ||  !(cert = zcert_new ())) {
        mt_fail (&cause, "keygen: out of memory, or no CurveZMQ in libzmq");
        goto fail;
    }
    if (s_write (&keygen, operands [0], public_path, secret_path, cert, &cause))
        goto fail;
    if (client->json) {
        json_t *out = json_pack ("{s:s, s:s, s:s, s:s}", "name", operands [0], "public",
                                 public_path, "secret", secret_path, "key", zcert_public_txt (cert));
        cmd_print_json (out);
        json_decref (out);
    }
    else
        printf ("public key %s\n  %s  public: copy it to the broker's clients/ or workers/ "
                "folder (or use it as --broker-key)\n  %s  secret: keep it here (--cert)\n",
                zcert_public_txt (cert), public_path, secret_path);
    goto done;
fail:
    code = cmd_fail (client, NULL, cause);
done:
    zcert_destroy (&cert);
    free (public_path);
    free (secret_path);
    free (cause);
    return code;
}
