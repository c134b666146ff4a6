/*  log - leveled logging to stderr, with the module named on every line  */
#ifndef MT_LOG_H_INCLUDED
#define MT_LOG_H_INCLUDED

#include <stdbool.h>

typedef enum { MT_LOG_ERROR = 0, MT_LOG_WARN = 1, MT_LOG_INFO = 2, MT_LOG_DEBUG = 3 } mt_log_level_t;

//  Set the process-wide level; messages above it are skipped before formatting.
void mt_log_set_level (mt_log_level_t level);
//  Set the program name printed on every line (e.g. "mtbroker").
void mt_log_set_ident (const char *ident);
bool mt_log_enabled (mt_log_level_t level);
void mt_log_write (mt_log_level_t level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define mt_log(level, ...) \
    do { if (mt_log_enabled (level)) mt_log_write (level, __VA_ARGS__); } while (0)
#define mt_error(...) mt_log (MT_LOG_ERROR, __VA_ARGS__)
#define mt_warn(...)  mt_log (MT_LOG_WARN, __VA_ARGS__)
#define mt_info(...)  mt_log (MT_LOG_INFO, __VA_ARGS__)
#define mt_debug(...) mt_log (MT_LOG_DEBUG, __VA_ARGS__)

#endif
