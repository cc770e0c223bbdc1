/*
 * ds_log.h - the process log: levelled lines to stderr, as text or JSON.
 *
 * DS_LOG checks the level before formatting, so a disabled level costs one load.
 * Each line is written with a single write, so lines from several threads never
 * interleave.  ds_log_init is called once by main before threads start; the other
 * functions are safe from any thread.
 */
#ifndef DS_LOG_H
#define DS_LOG_H

#include <stdbool.h>

enum ds_log_level { DS_LOG_ERROR = 0, DS_LOG_WARN = 1, DS_LOG_INFO = 2, DS_LOG_DEBUG = 3 };
enum ds_log_format { DS_LOG_TEXT = 0, DS_LOG_JSON = 1 };

extern int ds_log_threshold;

void ds_log_init(enum ds_log_level level, enum ds_log_format format);
/* Parse "error|warn|info|debug" / "text|json"; -1 when unknown. */
int ds_log_level_parse(const char *s);
int ds_log_format_parse(const char *s);
void ds_log_write(enum ds_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define DS_LOG(level, comp, ...)                           \
    do {                                                   \
        if ((int)(level) <= ds_log_threshold)              \
            ds_log_write((level), (comp), __VA_ARGS__);    \
    } while (0)
#define ds_log_error(comp, ...) DS_LOG(DS_LOG_ERROR, comp, __VA_ARGS__)
#define ds_log_warn(comp, ...) DS_LOG(DS_LOG_WARN, comp, __VA_ARGS__)
#define ds_log_info(comp, ...) DS_LOG(DS_LOG_INFO, comp, __VA_ARGS__)
#define ds_log_debug(comp, ...) DS_LOG(DS_LOG_DEBUG, comp, __VA_ARGS__)

#endif
