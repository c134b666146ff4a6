/*  metrics - the broker's STATS body rendered as Prometheus text (exposition format 0.0.4)  */
#ifndef MT_GW_METRICS_H_INCLUDED
#define MT_GW_METRICS_H_INCLUDED

#include <jansson.h>

//  The Content-Type of what gw_metrics_text returns.
#define GW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

//  Render stats (the broker's STATS body, PROTOCOL §5; borrowed, may be NULL) and the
//  gateway's version as Prometheus text: every family's HELP and TYPE lines, then the
//  samples the body has. Missing or wrong-typed fields are left out, never guessed.
//  Returns a new string the caller frees with free(), or NULL when out of memory.
char *gw_metrics_text (json_t *stats, const char *version);

#endif
