/* The names this server answers to, against DNS rebinding: a page on http://evil.example whose
 * name is re-pointed at the server makes the admin's browser send Host: evil.example and Origin:
 * http://evil.example, so neither header can say who the server is. A request must address the
 * server by one of its own names (ServerName, ServerAlias, the IP literal of the listener the
 * connection came in on, localhost, PassengerApiAllowedHost), and an Origin must be one of those
 * names on the server's own scheme and port. */
#ifndef PAPI_HOST_H
#define PAPI_HOST_H

#include <apr_network_io.h>
#include <apr_tables.h>

typedef struct papi_own_names {
    const char *server_name;            /* ServerName's host, or NULL */
    const apr_array_header_t *aliases;  /* ServerAlias names without wildcards (char *), or NULL */
    const apr_array_header_t *wild;     /* ServerAlias names with wildcards (char *), or NULL */
    const apr_array_header_t *allowed;  /* PassengerApiAllowedHost names (char *), or NULL */
    const char *listener_ip;            /* the connection's local IP literal, IPv6 without
                                         * brackets; or NULL */
    const char *scheme;                 /* the server's own scheme: "http" or "https" */
    apr_port_t ports[2];                /* the ports an Origin may name (the listener's, and
                                         * ServerName's); 0 for none */
} papi_own_names;

/* A Host header's value taken apart: host points into the value (without brackets for IPv6, and
 * without a trailing dot), port is 0 when none was given. */
typedef struct papi_host_port {
    const char *host;
    apr_size_t len;
    int ipv6;           /* it was an [IPv6] literal */
    apr_port_t port;
} papi_host_port;

/* Parses name[:port], IPv4[:port] or [IPv6][:port] (value[0..n)); 0 when it is none of these. */
int papi_host_parse(const char *value, apr_size_t n, papi_host_port *hp);

/* Whether the parsed host is one of own's names (case-insensitive; IP literals compared as
 * addresses). */
int papi_host_is_own(const papi_own_names *own, const papi_host_port *hp);

/* Why a request addressed to host (a Host header's value, or the host of an absolute request
 * URI) must be refused with a 421, or NULL. NULL host (an HTTP/1.0 request without one): nothing
 * to rebind, allowed. */
const char *papi_host_error(apr_pool_t *p, const papi_own_names *own, const char *host);

/* Whether origin (an Origin header's value) is scheme://name[:port] with the server's scheme,
 * one of its names, and one of its ports (the scheme's default when none is given). */
int papi_origin_is_own(const papi_own_names *own, const char *origin);

/* Why name cannot be given to PassengerApiAllowedHost (a DNS name, an IPv4 literal or an [IPv6]
 * literal, without port or wildcard), or NULL. */
const char *papi_host_name_error(const char *name);

#endif
