/* ds_err.c - text for enum ds_err codes.  See ds_err.h. */
#include "ds_err.h"

const char *ds_strerror(int err)
{
    switch (err) {
    case DS_OK:
        return "success";
#define DS_ERR_CASE(name, val, text) \
    case name:                       \
        return text;
        DS_ERR_MAP(DS_ERR_CASE)
#undef DS_ERR_CASE
    default:
        return "unknown error";
    }
}
