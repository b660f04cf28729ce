#include "papi_utf8.h"

#include <string.h>

apr_size_t papi_utf8_next(const unsigned char *s, apr_size_t n, apr_uint32_t *cp)
{
    apr_uint32_t c = s[0], min;
    apr_size_t need, i;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 0;
    if (n < need)
        return 0;
    c &= 0x7F >> need;      /* the lead byte's payload bits */
    for (i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    min = need == 2 ? 0x80 : need == 3 ? 0x800 : 0x10000;
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return need;
}

int papi_utf8_valid(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i, step;
    apr_uint32_t cp;

    for (i = 0; i < n; i += step)
        if (!(step = papi_utf8_next(u + i, n - i, &cp)))
            return 0;
    return 1;
}

const char *papi_utf8_repair(apr_pool_t *p, const char *s, apr_size_t *n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i, o = 0, step, bad = 0;
    apr_uint32_t cp;
    char *out;

    for (i = 0; i < *n; i += step)
        if (!(step = papi_utf8_next(u + i, *n - i, &cp))) {
            bad++;
            step = 1;
        }
    if (!bad)
        return s;
    out = apr_palloc(p, *n + bad * 2 + 1);
    for (i = 0; i < *n; i += step) {
        if ((step = papi_utf8_next(u + i, *n - i, &cp)) != 0) {
            memcpy(out + o, s + i, step);
            o += step;
        }
        else {
            memcpy(out + o, PAPI_UTF8_REPLACEMENT, 3);
            o += 3;
            step = 1;
        }
    }
    out[o] = '\0';
    *n = o;
    return out;
}
