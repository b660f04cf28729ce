#include "papi_request.h"
#include "papi_chars.h"

#include <apr_escape.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

#define PAPI_QUERY_MAX 2048
#define PAPI_QUERY_NAME_MAX 64

static int papi_path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '.' || c == '_' || c == '-' || c == '/';
}

const char *papi_core_path_error(const char *path)
{
    const char *c;

    if (path[0] != '/' || path[1] == '\0')
        return "the core path is empty";
    if (strlen(path) > PAPI_CORE_PATH_MAX)
        return "the core path is too long";
    for (c = path; *c; c++)
        if (!papi_path_char(*c))
            return "the core path may hold only letters, digits, '.', '_', '-' and '/'";
    if (strstr(path, "//"))
        return "the core path has an empty segment";
    for (c = path; c; c = strchr(c + 1, '/'))
        if (c[1] == '.' && (c[2] == '/' || c[2] == '\0' || (c[2] == '.' && (c[3] == '/' || !c[3]))))
            return "the core path has a '.' or '..' segment";
    return NULL;
}

static int papi_name_ok(const char *name)
{
    apr_size_t n = strlen(name);
    const char *c;

    if (n == 0 || n > PAPI_QUERY_NAME_MAX)
        return 0;
    for (c = name; *c; c++)
        if (!papi_path_char(*c) || *c == '/')
            return 0;
    return 1;
}

/* Decodes a query value: %XX and '+' for space. A NUL or a broken escape fails. */
static const char *papi_query_value(apr_pool_t *p, const char *raw)
{
    char *out = apr_palloc(p, strlen(raw) + 1), *o = out;

    for (; *raw; raw++) {
        if (*raw == '+')
            *o++ = ' ';
        else if (*raw != '%')
            *o++ = *raw;
        else {
            int hi = papi_hex_value(raw[1]), lo = hi < 0 ? -1 : papi_hex_value(raw[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            *o++ = (char)(hi * 16 + lo);
            raw += 2;
        }
    }
    *o = '\0';
    return out;
}

/* Percent-encodes all but RFC 3986 unreserved characters (a space as %20: Passenger's parser
 * need not know '+'). */
static const char *papi_query_encode(apr_pool_t *p, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, 3 * strlen(value) + 1), *o = out;

    for (; *value; value++) {
        unsigned char c = (unsigned char)*value;
        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            *o++ = (char)c;
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *papi_query_rebuild(apr_pool_t *p, const char *args, const char **why)
{
    char *copy, *pair, *last;
    const char *out = "";

    if (!args || !*args)
        return "";
    if (strlen(args) > PAPI_QUERY_MAX) {
        *why = "the query string is too long";
        return NULL;
    }
    copy = apr_pstrdup(p, args);
    for (pair = apr_strtok(copy, "&", &last); pair; pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        const char *value;
        if (!eq) {
            *why = apr_psprintf(p, "query parameter '%s' has no value (write %s=true)",
                                apr_pescape_entity(p, pair, 0), apr_pescape_entity(p, pair, 0));
            return NULL;
        }
        *eq = '\0';
        if (!papi_name_ok(pair)) {
            *why = "a query parameter name may hold only letters, digits, '_', '.' and '-'";
            return NULL;
        }
        if (!(value = papi_query_value(p, eq + 1))) {
            *why = apr_psprintf(p, "query parameter '%s' has a malformed value", pair);
            return NULL;
        }
        out = apr_pstrcat(p, out, *out ? "&" : "", pair, "=",
                          papi_query_encode(p, value), NULL);
    }
    return out;
}
