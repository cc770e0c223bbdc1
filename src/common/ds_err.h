/*
 * ds_err.h - error codes shared by every module.
 *
 * DS_OK is 0; every failure is negative.  ds_strerror() is generated from the same
 * X-macro, so a new code has exactly one place to be added.  Thread-safe, no state.
 */
#ifndef DS_ERR_H
#define DS_ERR_H

#define DS_ERR_MAP(X)                                      \
    X(DS_EINVAL, -1, "invalid argument")                   \
    X(DS_ENOMEM, -2, "out of memory")                      \
    X(DS_EIO, -3, "input/output error")                    \
    X(DS_EAGAIN, -4, "resource temporarily unavailable")   \
    X(DS_ETIMEDOUT, -5, "timed out")                       \
    X(DS_ECLOSED, -6, "connection closed")                 \
    X(DS_ENOSPC, -7, "no space left")                      \
    X(DS_EPROTO, -8, "malformed input")                    \
    X(DS_ERANGE, -9, "value out of range")                 \
    X(DS_ENOTFOUND, -10, "not found")                      \
    X(DS_ECONNREFUSED, -11, "connection refused")          \
    X(DS_ECONNRESET, -12, "connection reset by peer")      \
    X(DS_EADDRINUSE, -13, "address already in use")        \
    X(DS_ETLS, -14, "TLS failure")                         \
    X(DS_ENOTSUP, -15, "not supported")                    \
    X(DS_ECORRUPT, -16, "corrupt data")                    \
    X(DS_EPERM, -17, "permission denied")

enum ds_err {
    DS_OK = 0,
#define DS_ERR_ENUM(name, val, text) name = val,
    DS_ERR_MAP(DS_ERR_ENUM)
#undef DS_ERR_ENUM
};

const char *ds_strerror(int err);

#endif
