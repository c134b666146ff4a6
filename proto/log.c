/*  log - leveled logging to stderr, with time, program and level on every line  */
#include "mt/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

//  The one process-wide setting: how much to log, and the program's name.
static mt_log_level_t s_level = MT_LOG_INFO;
static char s_ident [32] = "mt";

void
mt_log_set_level (mt_log_level_t level)
{
    s_level = level;
}

void
mt_log_set_ident (const char *ident)
{
    snprintf (s_ident, sizeof s_ident, "%s", ident);
}

bool
mt_log_enabled (mt_log_level_t level)
{
    return level <= s_level;
}

void
mt_log_write (mt_log_level_t level, const char *fmt, ...)
{
    static const char *names [] = { "E", "W", "I", "D" };
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    localtime_r (&tv.tv_sec, &tm);
    char stamp [32];
    strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    char line [2048];
    va_list args;
    va_start (args, fmt);
    vsnprintf (line, sizeof line, fmt, args);
    va_end (args);
    fprintf (stderr, "%s.%03ld %s %s: %s\n", stamp, (long) tv.tv_usec / 1000,
             names [level], s_ident, line);
}
