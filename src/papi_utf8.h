/* UTF-8 as Unicode defines it (table 3-7): what every writer of outside text checks against. */
#ifndef PAPI_UTF8_H
#define PAPI_UTF8_H

#include <apr_pools.h>

/* U+FFFD REPLACEMENT CHARACTER, which stands for bytes that are not UTF-8. */
#define PAPI_UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* The length of the well-formed UTF-8 sequence at s[0..n) (n > 0), with its code point in *cp;
 * 0 for anything else: a stray continuation byte, an overlong form, a surrogate, a code point
 * above U+10FFFF, a sequence cut short. */
apr_size_t papi_utf8_next(const unsigned char *s, apr_size_t n, apr_uint32_t *cp);

/* Whether all of s[0..n) is well-formed UTF-8. */
int papi_utf8_valid(const char *s, apr_size_t n);

/* s[0..n) when it is well-formed UTF-8; else a copy from p (*n its new length, NUL-terminated)
 * where each byte that is not part of a well-formed sequence is U+FFFD. */
const char *papi_utf8_repair(apr_pool_t *p, const char *s, apr_size_t *n);

#endif
