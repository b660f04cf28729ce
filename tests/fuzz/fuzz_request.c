/* libFuzzer target for what a client's request becomes before a core sees it. The low two bits
 * of the first input byte pick the function, the rest is its input:
 *   0  papi_core_path_error: an accepted path is "/" and safe characters, no "//", "." or "..";
 *      and papi_direct_target_error: an accepted target for a process starts with "/" and holds
 *      only visible ASCII, no '#', and '%' only before two hex digits.
 *   1  papi_query_rebuild: an accepted query comes back as name=value pairs of safe characters,
 *      and rebuilding it again changes nothing; papi_dashboard_query: an accepted one gives
 *      refresh= 0-3600 seconds only when it has one, and an action's report only when it has
 *      done=, with a group after a restart and a pid after a detach.
 *   2  papi_policy_decide, NUL-separated method, path and query, in both access modes: read-only
 *      mode lets through only GET and HEAD to readable endpoints, scrubbed, with ro_admin; a GET
 *      or HEAD to a write endpoint, and nothing else, is answered 405 without a core.
 *   3  papi_policy_forgery, NUL-separated method, content type, origin, fetch site and the
 *      server's name (bits 2-4 of the first byte: content type, origin, fetch site absent): a POST
 *      or PUT without Content-Type application/json is refused, and so is one whose Origin is not
 *      the server's; with bit 5 set instead, the whole rest is a Host header's value
 *      (papi_host_parse, papi_host_error, papi_origin_is_own, papi_host_name_error): only the
 *      server's own names pass. */
#include <string.h>
#include <strings.h>

#include "papi_dashboard.h"
#include "papi_direct.h"
#include "papi_fuzz.h"
#include "papi_host.h"
#include "papi_policy.h"
#include "papi_request.h"

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* ---- core paths ---- */

static void check_path(const char *path)
{
    const char *c;

    if (papi_core_path_error(path))
        return;
    CHECK(path[0] == '/' && path[1] != '\0' && strlen(path) <= PAPI_CORE_PATH_MAX);
    CHECK(!strstr(path, "//"));
    for (c = path; *c; c++) {
        unsigned char u = (unsigned char)*c;
        CHECK(u != '\r' && u != '\n' && u != ' ' && u != '?' && u != '%' && u < 0x80);
        CHECK(is_alnum(*c) || *c == '.' || *c == '_' || *c == '-' || *c == '/');
    }
    /* No "." or ".." segment ("/x..y" is a name, not a step up). */
    for (c = path; c; c = strchr(c + 1, '/')) {
        size_t seg = strcspn(c + 1, "/");
        CHECK(!(seg == 1 && c[1] == '.') && !(seg == 2 && c[1] == '.' && c[2] == '.'));
    }
}

/* ---- queries ---- */

/* q is name=value pairs joined by '&': names of [A-Za-z0-9._-], values of unreserved characters
 * and %XX. */
static void check_pairs(const char *q)
{
    while (*q) {
        const char *name = q;
        while (is_alnum(*q) || *q == '.' || *q == '_' || *q == '-')
            q++;
        CHECK(q > name && *q == '=');
        for (q++; *q && *q != '&'; q++) {
            if (*q == '%') {
                CHECK(is_upper_hex(q[1]) && is_upper_hex(q[2]));
                CHECK(!(q[1] == '0' && q[2] == '0'));
                q += 2;
            } else {
                CHECK(is_alnum(*q) || *q == '.' || *q == '_' || *q == '~' || *q == '-');
            }
        }
        if (*q == '&') {
            q++;
            CHECK(*q != '\0');
        }
    }
}

/* The dashboard's ?refresh=N, and an action's report. */
static void check_refresh(apr_pool_t *p, const char *args)
{
    papi_action_done done = { PAPI_ACTION_NONE, 0, NULL, 0 };
    int refresh = -1;

    if (papi_dashboard_query(p, args, &refresh, &done))
        return;
    if (!*args) {
        CHECK(refresh == -1 && done.kind == PAPI_ACTION_NONE);
        return;
    }
    CHECK(refresh == -1 || (refresh >= 0 && refresh <= PAPI_DASHBOARD_REFRESH_MAX));
    CHECK(refresh == -1 || strstr(args, "refresh="));
    CHECK(done.kind == PAPI_ACTION_NONE || strstr(args, "done="));
    CHECK((done.group != NULL) == (done.kind == PAPI_ACTION_RESTART));
    CHECK((done.pid > 0) == (done.kind == PAPI_ACTION_DETACH));
}

static void check_query(apr_pool_t *p, const char *args)
{
    const char *why = NULL, *out = papi_query_rebuild(p, args, &why), *again;

    check_refresh(p, args);

    if (!out) {
        CHECK(why != NULL);
        return;
    }
    CHECK(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~%&=-")
          == strlen(out));
    check_pairs(out);
    /* Escaping can triple the length, past the 2048 bytes a query may have. */
    if (strlen(out) > 2048)
        return;
    again = papi_query_rebuild(p, out, &why);
    CHECK(again != NULL && strcmp(again, out) == 0);
}

/* ---- policy ---- */

/* Does the rebuilt query q have a parameter called name? */
static int has_param(const char *q, const char *name)
{
    size_t n = strlen(name);

    while (q && *q) {
        if (!strncmp(q, name, n) && q[n] == '=')
            return 1;
        q = strchr(q, '&');
        if (q)
            q++;
    }
    return 0;
}

/* One of Passenger's write endpoints: a read of it is answered 405 without a core. */
static int is_write_endpoint(const char *path)
{
    static const char *const writes[] = {
        "/shutdown.json", "/gc.json", "/reopen_logs.json", "/reinherit_logs.json",
        "/pool/restart_app_group.json", "/pool/detach_process.json"
    };
    size_t i, n = strlen(path);

    for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
        if (!strcmp(path, writes[i]))
            return 1;
    return !strncmp(path, "/server/", 8) && n > 13 && !strcmp(path + n - 5, ".json");
}

static int is_read_only_refused(const char *path)
{
    return !strcmp(path, "/pool.json") || !strcmp(path, "/config.json")
        || (!strncmp(path, "/server/", 8) && !is_write_endpoint(path));
}

static void check_verdict_shape(const papi_verdict *v)
{
    CHECK(v->status == 0 || (v->status >= 400 && v->status <= 499 && v->why && *v->why));
}

static void check_decide(apr_pool_t *p, const char *method, const char *path, const char *args)
{
    const char *why, *query;
    int read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    papi_verdict v;

    /* Whatever the strings, no crash. */
    papi_policy_decide(PAPI_ACCESS_READONLY, method, path, args, &v);
    check_verdict_shape(&v);
    papi_policy_decide(PAPI_ACCESS_FULL, method, path, args, &v);
    check_verdict_shape(&v);

    /* The promises hold for what the module passes: a valid path and a rebuilt query. */
    if (papi_core_path_error(path) || !(query = papi_query_rebuild(p, args, &why)))
        return;
    papi_policy_decide(PAPI_ACCESS_READONLY, method, path, query, &v);
    check_verdict_shape(&v);
    if (v.status == 0) {
        CHECK(read && !v.write && v.redact && v.level == PAPI_CRED_RO);
        CHECK(!is_read_only_refused(path));
        CHECK(v.known_405 || !has_param(query, "secrets"));
    }
    /* A read of a write endpoint never reaches a core, in either mode; nothing else is kept
     * from one that way. */
    CHECK(v.known_405 == (read && is_write_endpoint(path)));
    papi_policy_decide(PAPI_ACCESS_FULL, method, path, query, &v);
    check_verdict_shape(&v);
    CHECK(v.known_405 == (read && is_write_endpoint(path)));
    if (v.status == 0) {
        CHECK(read || !strcmp(method, "POST") || !strcmp(method, "PUT")
              || !strcmp(method, "DELETE"));
        CHECK(v.write == !read && v.level == (read ? PAPI_CRED_RO : PAPI_CRED_FULL));
    }
}

/* ---- forgery ---- */

/* Is the media type (before any ';', blanks around it dropped) application/json? */
static int is_json_type(const char *ct)
{
    size_t n;

    if (!ct)
        return 0;
    ct += strspn(ct, " \t");
    n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* The server the policy and host checks are asked about: named part (the input's), reached on
 * 127.0.0.1:8642 over http. */
static papi_own_names own_server(const char *name)
{
    papi_own_names own = { name, NULL, NULL, NULL, "127.0.0.1", "http", { 8642, 0 } };

    return own;
}

static void check_forgery(unsigned int flags, const char *const *part)
{
    const char *method = part[0], *ct = (flags & 4) ? NULL : part[1];
    const char *origin = (flags & 8) ? NULL : part[2], *site = (flags & 16) ? NULL : part[3];
    papi_own_names own = own_server(part[4]);
    const char *why = papi_policy_forgery(method, ct, origin, site, &own);

    if (why == NULL && (!strcmp(method, "POST") || !strcmp(method, "PUT")))
        CHECK(is_json_type(ct));
    if (why == NULL && origin)
        CHECK(!strncasecmp(origin, "http://", 7));
}

/* Is h[0..n) name, ignoring case? */
static int names(const char *h, size_t n, const char *name)
{
    return n == strlen(name) && !strncasecmp(h, name, n);
}

static void check_host(apr_pool_t *p, const char *s, size_t n)
{
    papi_own_names own = own_server("admin.example");
    papi_host_port hp;
    int parsed = papi_host_parse(s, n, &hp);

    if (parsed) {
        CHECK(hp.host >= s && hp.host + hp.len <= s + n && hp.len > 0);
        CHECK(hp.ipv6 || !memchr(hp.host, ':', hp.len));
        CHECK(!memchr(hp.host, '/', hp.len) && !memchr(hp.host, '@', hp.len));
    }
    /* Only these three names are the server's (s is NUL-terminated at n: a NUL inside ends it
     * for the string functions, as it would in a header). */
    if (papi_host_error(p, &own, s) == NULL && strlen(s) == n) {
        CHECK(parsed);
        CHECK(names(hp.host, hp.len, "admin.example") || names(hp.host, hp.len, "localhost")
              || names(hp.host, hp.len, "127.0.0.1"));
    }
    if (papi_origin_is_own(&own, s))
        CHECK(!strncasecmp(s, "http://", 7));
    if (!papi_host_name_error(s))
        CHECK(!strchr(s, '*') && !strchr(s, '/'));
}

/* Splits s (len bytes, NUL-terminated at len) at NULs into n strings; missing ones are "". */
static void split(char *s, size_t len, const char **part, int n)
{
    char *end = s + len;
    int i;

    for (i = 0; i < n; i++) {
        part[i] = s < end ? s : "";
        s = s < end ? s + strlen(s) + 1 : end;
    }
}

/* ---- targets sent to a process ---- */

static int is_hex(char c)
{
    return is_upper_hex(c) || (c >= 'a' && c <= 'f');
}

static void check_direct_target(const char *target)
{
    const char *c;

    if (papi_direct_target_error(target))
        return;
    CHECK(target[0] == '/');
    for (c = target; *c; c++) {
        CHECK(*c > ' ' && *c < 0x7f && *c != '#' && *c != '"' && *c != '<' && *c != '>');
        if (*c == '%')
            CHECK(is_hex(c[1]) && is_hex(c[2]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *part[5];
    size_t n;
    char *s;

    if (size == 0)
        return 0;
    /* A NUL-terminated copy of exactly the rest's size, so ASan sees any read past it. */
    n = size - 1;
    s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, data + 1, n);
    s[n] = '\0';
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    switch (data[0] & 3) {
    case 0:
        check_path(s);
        check_direct_target(s);
        break;
    case 1:
        check_query(p, s);
        break;
    case 2:
        split(s, n, part, 3);
        check_decide(p, part[0], part[1], part[2]);
        break;
    default:
        if (data[0] & 32) {
            check_host(p, s, n);
            break;
        }
        split(s, n, part, 5);
        check_forgery(data[0], part);
        break;
    }
    apr_pool_destroy(p);
    free(s);
    return 0;
}
