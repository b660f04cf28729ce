/* JSON string escaping. Safe bytes are copied in runs; only the bytes that need care are looked at
 * one by one. */
#include "papi_json.h"
#include "papi_utf8.h"

#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

static void papi_put_u_escape(papi_buf *b, unsigned int cp)
{
    char esc[6] = { '\\', 'u',
                    hex_digits[(cp >> 12) & 0xF], hex_digits[(cp >> 8) & 0xF],
                    hex_digits[(cp >> 4) & 0xF], hex_digits[cp & 0xF] };

    papi_buf_add(b, esc, sizeof(esc));
}

/* The short escape JSON has for c, or 0. */
static char papi_short_escape(unsigned char c)
{
    switch (c) {
    case '"':  return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default:   return 0;
    }
}

/* ASCII that goes out as it is: printable, and neither JSON syntax nor HTML syntax. */
static int papi_ascii_is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

static void papi_put_ascii_escaped(papi_buf *b, unsigned char c)
{
    char s = papi_short_escape(c);

    if (s) {
        char esc[2] = { '\\', s };
        papi_buf_add(b, esc, 2);
    } else {
        papi_put_u_escape(b, c);
    }
}

/* The code point escaped even though it is well-formed: C1 controls and the two JavaScript line
 * terminators; 0 for everything else. */
static unsigned int papi_multibyte_to_escape(const unsigned char *s, apr_size_t len)
{
    if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0)
        return s[1];                            /* U+0080..U+009F */
    if (len == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
        return 0x2000u | (s[2] & 0x3F);         /* U+2028, U+2029 */
    return 0;
}

void papi_json_string(papi_buf *b, const char *str, apr_size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    apr_size_t i = 0, run = 0;

    papi_buf_putc(b, '"');
    while (i < n) {
        apr_size_t len;
        apr_uint32_t code;
        unsigned int cp;

        if (papi_ascii_is_plain(s[i])) {
            i++;
            continue;
        }
        len = papi_utf8_next(s + i, n - i, &code);
        cp = len > 1 ? papi_multibyte_to_escape(s + i, len) : 0;
        if (len > 1 && cp == 0) {
            i += len;           /* well-formed and harmless: stays in the run */
            continue;
        }
        papi_buf_add(b, s + run, i - run);
        if (len == 1)
            papi_put_ascii_escaped(b, s[i]);
        else if (len == 0)
            papi_buf_puts(b, PAPI_UTF8_REPLACEMENT);
        else
            papi_put_u_escape(b, cp);
        i += len ? len : 1;     /* a bad byte is replaced alone; the next byte gets its own chance */
        run = i;
    }
    papi_buf_add(b, s + run, n - run);
    papi_buf_putc(b, '"');
}

void papi_json_cstr(papi_buf *b, const char *s)
{
    if (s == NULL)
        papi_buf_puts(b, "null");
    else
        papi_json_string(b, s, strlen(s));
}
