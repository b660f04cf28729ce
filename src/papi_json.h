/* Writing JSON text. Every string from outside (a core's answer, a header, a file) goes through
 * papi_json_string, which always yields a valid JSON string. */
#ifndef PAPI_JSON_H
#define PAPI_JSON_H

#include "papi_buf.h"

/* Appends s[0..n) as a quoted JSON string: '"' and '\\' escaped, control characters as \uXXXX
 * (\n \r \t \b \f in their short forms), '<' '>' '&' U+2028 U+2029 as \uXXXX so the text is also
 * safe inside HTML, and each byte that is not part of well-formed UTF-8 (overlong forms, surrogates,
 * code points above U+10FFFF, truncated sequences) replaced by U+FFFD.
 * In detail: "control characters" are C0 (U+0000-001F), DEL and C1 (U+0080-009F); \uXXXX uses
 * lower-case hex; U+FFFD is written as its UTF-8 bytes; a truncated sequence gives one U+FFFD per
 * byte. */
void papi_json_string(papi_buf *b, const char *s, apr_size_t n);

/* The same for a NUL-terminated string; NULL writes null. */
void papi_json_cstr(papi_buf *b, const char *s);

#endif
