/* err.c - formatting of vas_err. */
#include "core/err.h"

#undef err_set
#undef err_sys

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(vas_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

int err_sys(vas_err *e, int code, int errno_value, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    if (!e)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    n = strlen(e->msg);
    char buf[128];
    snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror_r(errno_value, buf, sizeof(buf)));
    return code;
}

const char *err_name(int code)
{
    switch (code) {
    case VAS_OK:
        return "OK";
    case VAS_EINVAL:
        return "EINVAL";
    case VAS_ENOTFOUND:
        return "ENOTFOUND";
    case VAS_EAMBIG:
        return "EAMBIG";
    case VAS_ECONFLICT:
        return "ECONFLICT";
    case VAS_ETOOBIG:
        return "ETOOBIG";
    case VAS_EIO:
        return "EIO";
    case VAS_ENOMEM:
        return "ENOMEM";
    case VAS_EAUTH:
        return "EAUTH";
    case VAS_EMETHOD:
        return "EMETHOD";
    case VAS_ECANCELLED:
        return "ECANCELLED";
    case VAS_EUNSUPPORTED:
        return "EUNSUPPORTED";
    case VAS_ERANGE:
        return "ERANGE";
    case VAS_ENOSPC:
        return "ENOSPC";
    case VAS_EBUSY:
        return "EBUSY";
    default:
        return "EUNKNOWN";
    }
}
