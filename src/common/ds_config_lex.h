/*
 * ds_config_lex.h - internal to the configuration loader (ds_config.c): the line
 * reader handed to inih, the argument tokeniser and the value parsers.
 *
 * The reader (ds_cfg_reader_read, an inih ini_reader) hands inih one line per
 * physical line of the file, so inih's line numbers and ours agree.  It removes
 * comments and leading blanks itself, refuses [section] lines, control characters
 * and lines longer than DS_CFG_MAX_LINE, and hands inih only "name=" for a line
 * "name args..." (or "name = args...").  It keeps the directive name and the
 * argument text of the current line; the handler takes the arguments from there, so
 * '=' and ':' inside arguments are never inih's separator, inih's 200-byte line
 * buffer (Debian's INI_MAX_LINE) never splits a long line, and the result does not
 * depend on how inih was compiled.
 * After the first error the reader returns NULL, which ends inih's loop.
 *
 * Ownership: the reader owns the strings it keeps (freed by ds_cfg_reader_free);
 * ds_cfg_tokens owns its buffer and array (ds_cfg_tokens_free).  The text passed to
 * ds_cfg_reader_init is borrowed and must outlive the reader.
 * Threads: none of this has global state; use a reader from one thread.
 */
#ifndef DS_CONFIG_LEX_H
#define DS_CONFIG_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line accepted (characters, not counting the line end). */
#define DS_CFG_MAX_LINE 4096

struct ds_cfg_reader {
    const char *name;     /* file name used in messages */
    const char *pos, *end;/* the unread part of the text */
    int line;             /* number of the physical line last read (1-based) */
    char *dname;          /* directive name of that line, or NULL for a blank line */
    char *args;           /* its arguments, comments and outer blanks removed */
    char *err;            /* the first error, "FILE:LINE: reason" */
    size_t errlen;
    bool failed;
};

void ds_cfg_reader_init(struct ds_cfg_reader *r, const char *name, const char *text, size_t len,
                        char *err, size_t errlen);
void ds_cfg_reader_free(struct ds_cfg_reader *r);
/* The ini_reader callback: stream is a struct ds_cfg_reader. */
char *ds_cfg_reader_read(char *buf, int num, void *stream);
/* Record the first error as "FILE:LINE: message" ("FILE: message" when line is 0);
 * later calls are ignored.  Always returns DS_EINVAL. */
int ds_cfg_fail(struct ds_cfg_reader *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An argument after unquoting.  eq is the offset of the first '=' that was not
 * inside quotes (a key=value option), or -1. */
struct ds_cfg_token {
    char *text;
    int eq;
};
struct ds_cfg_tokens {
    char *buf;
    struct ds_cfg_token *tok;
    int n;
};
/* Split blank-separated arguments.  "..." quotes blanks, '#' and ';'; inside quotes
 * \" is a quote and \\ a backslash, any other backslash is kept as it is.  Returns
 * DS_OK or DS_EINVAL with a reason in why (unterminated quote). */
int ds_cfg_tokenize(const char *args, struct ds_cfg_tokens *out, char *why, size_t whylen);
void ds_cfg_tokens_free(struct ds_cfg_tokens *t);

/* Value parsers: DS_OK, DS_EINVAL (not of the form) or DS_ERANGE (too large). */
int ds_cfg_parse_uint(const char *s, uint64_t max, uint64_t *out);       /* decimal digits */
int ds_cfg_parse_size(const char *s, uint64_t *out);       /* bytes, or k/K, M, G (x1024^n) */
int ds_cfg_parse_duration_ms(const char *s, unsigned *out); /* seconds, or ms, s, m, h */
int ds_cfg_parse_bool(const char *s, bool *out);            /* on|off|yes|no|true|false */

#endif
