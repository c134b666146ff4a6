/*  curve - CurveZMQ certificates: load and check zcert files, make a DEALER a CURVE client  */
#ifndef MT_CURVE_H_INCLUDED
#define MT_CURVE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#define MT_CURVE_SECRET_SUFFIX "_secret"    // NAME_secret beside NAME, as zcert writes them

typedef struct mt_curve_t mt_curve_t;

//  Load a certificate file written by zcert (`mtclient keygen`). With
//  need_secret the file must hold a secret key (a NAME_secret file); a file
//  others can read is warned about. Returns a new cert the caller owns, or
//  NULL with *cause naming the file.
zcert_t *mt_curve_load (const char *file, bool need_secret, char **cause);

//  This side's own secret cert and the broker's public cert, for a client or
//  a worker. Returns a new object, or NULL with *cause naming the file.
mt_curve_t *mt_curve_new (const char *cert_file, const char *broker_key_file, char **cause);
void mt_curve_destroy (mt_curve_t **self_p);

//  Make sock a CURVE client of the broker: call before connecting. Returns 0.
int mt_curve_apply (mt_curve_t *self, zsock_t *sock);

#endif
