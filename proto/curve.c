/*  curve - CurveZMQ certificates: load and check zcert files, make a DEALER a CURVE client  */
#include "mt/curve.h"
#include "mt/log.h"
#include "mt/util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct mt_curve_t {
    zcert_t *own;               // this side's keys, secret included
    zcert_t *broker;            // the broker's public key
};

static bool s_all_zero (const byte *key);

zcert_t *
mt_curve_load (const char *file, bool need_secret, char **cause)
{
    struct stat st;
    if (stat (file, &st))
        return mt_fail (cause, "%s: %s", file, strerror (errno)), NULL;
    if (!S_ISREG (st.st_mode))
        return mt_fail (cause, "%s: not a certificate file", file), NULL;
    //  zcert_load tries FILE_secret first: with a public FILE that has its
    //  secret twin beside it we get the same public key, which is all we use
    zcert_t *cert = zcert_load (file);
    if (!cert || s_all_zero (zcert_public_key (cert))) {
        zcert_destroy (&cert);
        return mt_fail (cause, "%s: not a CurveZMQ certificate (make one with "
                        "`mtclient keygen NAME`)", file), NULL;
    }
    if (need_secret && s_all_zero (zcert_secret_key (cert))) {
        zcert_destroy (&cert);
        return mt_fail (cause, "%s: holds no secret key; give the NAME" MT_CURVE_SECRET_SUFFIX
                        " file `mtclient keygen NAME` wrote", file), NULL;
    }
    //  The secret came from FILE_secret when there is one (zcert's rule)
    char twin [4200];
    snprintf (twin, sizeof twin, "%s" MT_CURVE_SECRET_SUFFIX, file);
    const char *secret = stat (twin, &st) == 0 ? twin : file;
    if (need_secret && stat (secret, &st) == 0 && (st.st_mode & 077))
        mt_warn ("curve: %s holds a secret key and others may read it: chmod 600 it", secret);
    return cert;
}

mt_curve_t *
mt_curve_new (const char *cert_file, const char *broker_key_file, char **cause)
{
    mt_curve_t *self = calloc (1, sizeof *self);
    if (!self)
        return mt_fail (cause, "out of memory"), NULL;
    if (!(self->own = mt_curve_load (cert_file, true, cause))
    ||  !(self->broker = mt_curve_load (broker_key_file, false, cause)))
        mt_curve_destroy (&self);
    return self;
}

void
mt_curve_destroy (mt_curve_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zcert_destroy (&(*self_p)->own);
    zcert_destroy (&(*self_p)->broker);
    free (*self_p);
    *self_p = NULL;
}

int
mt_curve_apply (mt_curve_t *self, zsock_t *sock)
{
    zcert_apply (self->own, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (self->broker));
    return 0;
}

static bool
s_all_zero (const byte *key)
{
    for (int i = 0; i < 32; i++)
        if (key [i])
            return false;
    return true;
}
