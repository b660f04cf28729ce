/* application/x-www-form-urlencoded, decoded strictly: whatever is not plainly a form is refused
 * with a reason rather than guessed at. */
#include "papi_form.h"
#include "papi_chars.h"
#include "papi_utf8.h"

#include <apr_strings.h>
#include <string.h>

/* Decodes s[0..n) into a new string; NULL with *why when it is not a well-formed form part. */
static const char *papi_form_decode(apr_pool_t *p, const char *s, apr_size_t n, const char *what,
                                    const char **why)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;

            if (n - i < 3 || (hi = papi_hex_value(s[i + 1])) < 0
                || (lo = papi_hex_value(s[i + 2])) < 0) {
                *why = apr_psprintf(p, "a %s has a '%%' without two hex digits after it", what);
                return NULL;
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7F) {
            *why = apr_psprintf(p, "a %s holds a control character", what);
            return NULL;
        }
        *o++ = (char)c;
    }
    *o = '\0';
    if ((apr_size_t)(o - out) > PAPI_FORM_FIELD_MAX) {
        *why = apr_psprintf(p, "a %s is longer than %d bytes", what, PAPI_FORM_FIELD_MAX);
        return NULL;
    }
    if (!papi_utf8_valid(out, (apr_size_t)(o - out))) {
        *why = apr_psprintf(p, "a %s is not UTF-8", what);
        return NULL;
    }
    return out;
}

const char *papi_form_parse(apr_pool_t *p, const char *data, apr_size_t len, int max,
                            apr_array_header_t **fields)
{
    const char *end = data + len, *why = NULL;

    *fields = apr_array_make(p, 4, sizeof(papi_form_field));
    while (data < end) {
        const char *amp = memchr(data, '&', (apr_size_t)(end - data)), *eq;
        papi_form_field f;

        if (!amp)
            amp = end;
        if (amp == data)
            return "an empty pair (\"&&\", or '&' at either end)";
        if ((*fields)->nelts == max)
            return apr_psprintf(p, "more than %d fields", max);
        eq = memchr(data, '=', (apr_size_t)(amp - data));
        if (eq == data)
            return "a field without a name";
        if (!(f.name = papi_form_decode(p, data, (apr_size_t)((eq ? eq : amp) - data), "name",
                                        &why)))
            return why;
        f.value = eq ? papi_form_decode(p, eq + 1, (apr_size_t)(amp - eq - 1), "value", &why)
                     : "";
        if (!f.value)
            return why;
        if (papi_form_get(*fields, f.name))
            return apr_pstrcat(p, "the field ", f.name, " is given twice", NULL);
        APR_ARRAY_PUSH(*fields, papi_form_field) = f;
        data = amp + (amp < end);
        if (amp + 1 == end)
            return "an empty pair (\"&&\", or '&' at either end)";
    }
    return NULL;
}

const char *papi_form_get(const apr_array_header_t *fields, const char *name)
{
    int i;

    for (i = 0; i < fields->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(fields, i, papi_form_field).name, name))
            return APR_ARRAY_IDX(fields, i, papi_form_field).value;
    return NULL;
}

const char *papi_form_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || papi_is_digit((char)c)
            || strchr("-._*", c))
            *o++ = (char)c;
        else if (c == ' ')
            *o++ = '+';
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}
