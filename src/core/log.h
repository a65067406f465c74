/* log.h - one line per event on stderr: "ts level module key=value ...", one write(2) each.
 * Not: request metrics (http/metrics.h). Threads: any; the level is set once in main. */
#ifndef VAS_LOG_H
#define VAS_LOG_H

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Called from main before threads start. */
void log_set_level(int level);
/* Parses "error|warn|info|debug"; returns -1 if unknown. */
int log_level_parse(const char *name);
int log_enabled(int level);
void log_write(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_write(LOG_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_write(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_write(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_write(LOG_DEBUG, mod, __VA_ARGS__)

#endif
