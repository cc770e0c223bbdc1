/*
 * ds_config_int.h - internal to the configuration loader: the parse state shared by
 * the directive handlers (ds_config.c) and the argument helpers (ds_config_args.c):
 * keyword tables, value parsers that report "FILE:LINE: directive: reason", the
 * argument-count and key=value option walkers, host name checks.
 *
 * Ownership and threads: as ds_config.c (one parse, one thread, no global state
 * beyond the constant keyword tables).
 */
#ifndef DS_CONFIG_INT_H
#define DS_CONFIG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ds_config.h"
#include "ds_config_lex.h"

struct kw {
    const char *name;
    int val;
};

struct ctx;
struct directive {
    const char *name;
    const char *usage; /* shown with "missing" and "too many arguments" */
    bool multi;        /* may appear more than once */
    int (*fn)(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t);
};

enum { N_DIRECTIVES = 17 };

struct ctx {
    struct ds_cfg_reader rd;
    struct ds_config *cfg;
    int seen[N_DIRECTIVES]; /* line where a single-valued directive was set */
};

struct optwalk {
    int next;
    unsigned seen;
};

extern const struct kw ds_cfg_kw_format[];
extern const struct kw ds_cfg_kw_syslog[];
extern const struct kw ds_cfg_kw_fwd_framing[];
extern const struct kw ds_cfg_kw_in_framing[];
extern const struct kw ds_cfg_kw_recovery[];
extern const struct kw ds_cfg_kw_mode[];
extern const struct kw ds_cfg_kw_overflow[];
extern const struct kw ds_cfg_kw_log_level[];
extern const struct kw ds_cfg_kw_log_format[];

int ds_cfg_err(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *ds_cfg_kw_name(const struct kw *k, int val);
void ds_cfg_kw_list(const struct kw *k, char *buf, size_t len);
int ds_cfg_bad_kw(struct ctx *c, const struct directive *d, const char *what, const char *v,
                  const struct kw *k);
int ds_cfg_kw(struct ctx *c, const struct directive *d, const char *what, const char *v,
              const struct kw *k, int *out);
int ds_cfg_duration(struct ctx *c, const struct directive *d, const char *what, const char *v,
                    unsigned min_ms, unsigned *out);
int ds_cfg_bool(struct ctx *c, const struct directive *d, const char *what, const char *v,
                bool *out);
int ds_cfg_range(struct ctx *c, const struct directive *d, const char *what, const char *v,
                 uint64_t min, uint64_t max, uint64_t *out);
int ds_cfg_text(struct ctx *c, const struct directive *d, const char *what, const char *v,
                char **out);
/* An option is a word with an unquoted '=' after at least one character. */
static inline bool ds_cfg_is_option(const struct ds_cfg_token *t)
{
    return t->eq > 0;
}
int ds_cfg_check_args(struct ctx *c, const struct directive *d, const struct ds_cfg_tokens *t,
                      int first, int min, int max, const char *const *names, bool options,
                      int *npos);
int ds_cfg_next_option(struct ctx *c, const struct directive *d, struct ds_cfg_tokens *t,
                       struct optwalk *w, const char *const *keys, int *idx, const char **val);
bool ds_cfg_all_digits_dots(const char *s);
bool ds_cfg_valid_hostname(const char *s);
char *ds_cfg_strip_brackets(const char *s);
bool ds_cfg_is_numeric_address(const char *s);

#endif
