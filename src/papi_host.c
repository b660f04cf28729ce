#include "papi_host.h"
#include "papi_chars.h"

#include <apr_fnmatch.h>
#include <apr_strings.h>
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* Longest DNS name (253) and a little more: anything longer is no name of ours. */
#define PAPI_HOST_MAX 256

static int papi_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || papi_is_digit(c) || c == '-'
           || c == '.' || c == '_';
}

static int papi_ipv6_char(char c)
{
    return papi_hex_value(c) >= 0 || c == ':' || c == '.';
}

/* ":port" or "" at s[0..n); sets *port (0 for none). */
static int papi_port_parse(const char *s, apr_size_t n, apr_port_t *port)
{
    apr_size_t i;
    long v = 0;

    *port = 0;
    if (n == 0)
        return 1;
    if (s[0] != ':' || n > 6)
        return 0;
    for (i = 1; i < n; i++) {
        if (!papi_is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535)
        return 0;
    *port = (apr_port_t)v;
    return 1;
}

int papi_host_parse(const char *value, apr_size_t n, papi_host_port *hp)
{
    apr_size_t i = 0;

    memset(hp, 0, sizeof(*hp));
    if (n && value[0] == '[') {
        for (i = 1; i < n && papi_ipv6_char(value[i]); i++)
            ;
        if (i == n || value[i] != ']' || i < 3)
            return 0;
        hp->host = value + 1;
        hp->len = i - 1;
        hp->ipv6 = 1;
        return papi_port_parse(value + i + 1, n - i - 1, &hp->port);
    }
    while (i < n && papi_host_char(value[i]))
        i++;
    hp->host = value;
    hp->len = i;
    /* One trailing dot names the same host (an absolute DNS name). */
    if (hp->len > 1 && value[hp->len - 1] == '.')
        hp->len--;
    if (!hp->len || value[0] == '.' || value[hp->len - 1] == '.')
        return 0;
    return papi_port_parse(value + i, n - i, &hp->port);
}

/* The IPv6 address in s[0..n) (brackets allowed around it); 0 when it is not one. */
static int papi_ipv6_of(const char *s, apr_size_t n, struct in6_addr *a)
{
    char buf[64];

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, a) == 1;
}

/* Whether the parsed host is name (a configured name: maybe with a trailing dot, an IPv6 one
 * maybe in brackets). */
static int papi_host_is(const papi_host_port *hp, const char *name)
{
    apr_size_t n = name ? strlen(name) : 0;
    struct in6_addr a, b;

    if (!n)
        return 0;
    if (hp->ipv6)
        return papi_ipv6_of(hp->host, hp->len, &a) && papi_ipv6_of(name, n, &b)
               && !memcmp(&a, &b, sizeof(a));
    if (n > 1 && name[n - 1] == '.')
        n--;
    return n == hp->len && !strncasecmp(hp->host, name, n);
}

static int papi_host_in(const papi_host_port *hp, const apr_array_header_t *names)
{
    int i;

    for (i = 0; names && i < names->nelts; i++)
        if (papi_host_is(hp, APR_ARRAY_IDX(names, i, const char *)))
            return 1;
    return 0;
}

/* ServerAlias *.example.com and the like, matched as httpd matches them. */
static int papi_host_wild(const papi_host_port *hp, const apr_array_header_t *patterns)
{
    char buf[PAPI_HOST_MAX];
    int i;

    if (!patterns || hp->ipv6 || hp->len >= sizeof(buf))
        return 0;
    memcpy(buf, hp->host, hp->len);
    buf[hp->len] = '\0';
    for (i = 0; i < patterns->nelts; i++)
        if (apr_fnmatch(APR_ARRAY_IDX(patterns, i, const char *), buf, APR_FNM_CASE_BLIND)
            == APR_SUCCESS)
            return 1;
    return 0;
}

int papi_host_is_own(const papi_own_names *own, const papi_host_port *hp)
{
    return papi_host_is(hp, "localhost") || papi_host_is(hp, own->server_name)
           || papi_host_is(hp, own->listener_ip) || papi_host_in(hp, own->aliases)
           || papi_host_in(hp, own->allowed) || papi_host_wild(hp, own->wild);
}

const char *papi_host_error(apr_pool_t *p, const papi_own_names *own, const char *host)
{
    papi_host_port hp;

    if (!host)
        return NULL;
    if (!papi_host_parse(host, strlen(host), &hp))
        return apr_psprintf(p, "'%.100s' is not a host name or address", host);
    if (!papi_host_is_own(own, &hp))
        return apr_psprintf(p, "'%.*s' is not one of this server's names (ServerName, ServerAlias, "
                            "the address it was reached on, localhost, or a "
                            "PassengerApiAllowedHost): refused, as a page whose name was pointed "
                            "at this server would send it", (int)(hp.len > 100 ? 100 : hp.len),
                            hp.host);
    return NULL;
}

int papi_origin_is_own(const papi_own_names *own, const char *origin)
{
    const char *sep = strstr(origin, "://");
    papi_host_port hp;
    apr_port_t port;
    apr_size_t n;

    if (!sep || !own->scheme || (apr_size_t)(sep - origin) != strlen(own->scheme)
        || strncasecmp(origin, own->scheme, (apr_size_t)(sep - origin)))
        return 0;
    sep += 3;
    n = strlen(sep);
    if (!papi_host_parse(sep, n, &hp) || !papi_host_is_own(own, &hp))
        return 0;
    port = hp.port ? hp.port : !strcasecmp(own->scheme, "https") ? 443 : 80;
    return (own->ports[0] && port == own->ports[0]) || (own->ports[1] && port == own->ports[1]);
}

const char *papi_host_name_error(const char *name)
{
    apr_size_t n = strlen(name);
    papi_host_port hp;
    struct in6_addr a;

    if (!papi_host_parse(name, n, &hp) || hp.port || name[n - 1] == ':'
        || (hp.ipv6 && !papi_ipv6_of(hp.host, hp.len, &a)))
        return "takes host names, IPv4 addresses or [IPv6] addresses, without a port or "
               "wildcard";
    return NULL;
}
