/* libFuzzer target for papi_redact: what read-only mode shows of a core's pool.xml, pool.txt and
 * server.json. The first input byte picks the path (modulo 3: 0 /pool.xml, 1 /pool.txt,
 * 2 /server.json), the rest is the body.
 *
 * pool.xml: a plausible key (8 or more of [A-Za-z0-9]) between <api_key> and </api_key>, or
 * <secret> and </secret>, must not reach the output. The check must not cry wolf, so it is only
 * made for a key that occurs nowhere else in the input nor in what the redactor writes itself
 * ("REDACTED"), and only when removing a <sockets> element cannot join two runs of letters and
 * digits into one (no <sockets> right after a letter or digit).
 * A second check needs no such care: changing the keys' bytes must not change the output.
 * The same holds for <sticky_session_id>.
 * pool.txt: every "Password:" or "URL :" line of the output ends in " [REDACTED]".
 * server.json: when the body is JSON (as jansson reads it), so is the output, and of the same
 * shape: equal but for every "sticky_session_id" member, now the string "[REDACTED]", and every
 * string "path" member with a '?', now cut after it and "[REDACTED]" added.
 * All: the output grows by at most 11 bytes per "[REDACTED]" it holds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>

#include <jansson.h>

#include "papi_fuzz.h"
#include "papi_redact.h"

#define KEY_MIN 8

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int all_alnum(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_alnum(s[i]))
            return 0;
    return 1;
}

static size_t count(const char *s, size_t n, const char *needle)
{
    size_t k = 0, len = strlen(needle);
    const char *at;

    while ((at = memmem(s, n, needle, len)) != NULL) {
        k++;
        n -= (size_t)(at + len - s);
        s = at + len;
    }
    return k;
}

typedef struct key {
    size_t start, len;
} key;

/* Every plausible key: for each open tag, the text up to the first matching close tag after it,
 * when all [A-Za-z0-9] and long enough. Such runs hold no '<', so none overlaps another. */
static size_t find_keys(const char *s, size_t n, key *keys, size_t max)
{
    static const char *const open[] = { "<api_key>", "<secret>", "<sticky_session_id>" };
    static const char *const close[] = { "</api_key>", "</secret>", "</sticky_session_id>" };
    size_t k = 0, i, t;

    for (t = 0; t < 3; t++) {
        size_t lo = strlen(open[t]), lc = strlen(close[t]);
        for (i = 0; i + lo <= n && k < max; i++) {
            const char *stop;
            size_t from = i + lo;
            if (memcmp(s + i, open[t], lo))
                continue;
            stop = memmem(s + from, n - from, close[t], lc);
            if (!stop)
                continue;
            keys[k].start = from;
            keys[k].len = (size_t)(stop - s) - from;
            if (keys[k].len >= KEY_MIN && all_alnum(s + from, keys[k].len))
                k++;
        }
    }
    return k;
}

/* Could dropping a <sockets> element glue a letter or digit before it to one after it? */
static int sockets_may_join(const char *s, size_t n)
{
    const char *at = s;
    size_t left = n;

    while ((at = memmem(at, left, "<sockets>", 9)) != NULL) {
        if (at > s && is_alnum(at[-1]))
            return 1;
        at++;
        left = n - (size_t)(at - s);
    }
    return 0;
}

/* Another letter or digit of the same kind, so the text stays a plausible key. */
static char rotate(char c)
{
    if (c == 'z' || c == 'Z')
        return (char)(c - 25);
    if (c == '9')
        return '0';
    return (char)(c + 1);
}

static void check_xml(apr_pool_t *p, const char *in, size_t n, const char *out, size_t out_len)
{
    key keys[64];
    size_t nkeys = find_keys(in, n, keys, 64), i, j, out2_len;
    char *masked, *changed;
    const char *out2;
    int may_join = sockets_may_join(in, n);

    if (nkeys == 0)
        return;
    masked = malloc(n);
    changed = malloc(n);
    CHECK(masked && changed);
    memcpy(masked, in, n);
    memcpy(changed, in, n);
    for (i = 0; i < nkeys; i++) {
        memset(masked + keys[i].start, 0, keys[i].len);
        for (j = keys[i].start; j < keys[i].start + keys[i].len; j++)
            changed[j] = rotate(in[j]);
    }
    /* A key seen nowhere but in such elements must not be in the output. */
    for (i = 0; i < nkeys && !may_join; i++) {
        const char *k = in + keys[i].start;
        if (memmem(masked, n, k, keys[i].len) || memmem(PAPI_REDACTED, strlen(PAPI_REDACTED), k,
                                                        keys[i].len))
            continue;
        CHECK(memmem(out, out_len, k, keys[i].len) == NULL);
    }
    /* What the keys say must not matter: other keys, same answer. */
    out2 = papi_redact(p, "/pool.xml", changed, n, &out2_len);
    CHECK(out2_len == out_len && memcmp(out2, out, out_len) == 0);
    free(masked);
    free(changed);
}

/* s..eol starts (after spaces) with label, then spaces, then ':'? Sets *after to past the colon. */
static int labelled(const char *s, const char *eol, const char *label, const char **after)
{
    size_t n = strlen(label);

    while (s < eol && *s == ' ')
        s++;
    if ((size_t)(eol - s) < n || memcmp(s, label, n))
        return 0;
    s += n;
    while (s < eol && *s == ' ')
        s++;
    if (s == eol || *s != ':')
        return 0;
    *after = s + 1;
    return 1;
}

static void check_text(const char *out, size_t out_len)
{
    static const char redacted[] = " " PAPI_REDACTED;
    const char *s = out, *end = out + out_len;

    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s)), *after;
        if (!eol)
            eol = end;
        if (labelled(s, eol, "Password", &after) || labelled(s, eol, "URL", &after))
            CHECK((size_t)(eol - after) == sizeof(redacted) - 1
                  && memcmp(after, redacted, sizeof(redacted) - 1) == 0);
        s = eol + 1;
    }
}

/* out is in with just the scrubbed members changed; member: the name in's value had, or NULL. */
static int same_but_scrubbed(json_t *in, json_t *out, const char *member)
{
    const char *q;
    void *i, *o;
    size_t k;

    if (member && !strcmp(member, "sticky_session_id"))
        return json_is_string(out) && !strcmp(json_string_value(out), PAPI_REDACTED);
    if (member && !strcmp(member, "path") && json_is_string(in)
        && (q = memchr(json_string_value(in), '?', json_string_length(in))) != NULL) {
        size_t keep = (size_t)(q - json_string_value(in)) + 1;
        return json_is_string(out) && json_string_length(out) == keep + strlen(PAPI_REDACTED)
               && !memcmp(json_string_value(out), json_string_value(in), keep)
               && !strcmp(json_string_value(out) + keep, PAPI_REDACTED);
    }
    if (json_typeof(in) != json_typeof(out))
        return 0;
    if (json_is_array(in)) {
        if (json_array_size(in) != json_array_size(out))
            return 0;
        for (k = 0; k < json_array_size(in); k++)
            if (!same_but_scrubbed(json_array_get(in, k), json_array_get(out, k), NULL))
                return 0;
        return 1;
    }
    if (!json_is_object(in))
        return json_equal(in, out);
    if (json_object_size(in) != json_object_size(out))
        return 0;
    for (i = json_object_iter(in), o = json_object_iter(out); i && o;
         i = json_object_iter_next(in, i), o = json_object_iter_next(out, o))
        if (strcmp(json_object_iter_key(i), json_object_iter_key(o))
            || !same_but_scrubbed(json_object_iter_value(i), json_object_iter_value(o),
                                  json_object_iter_key(i)))
            return 0;
    return 1;
}

static void check_json(const char *in, size_t n, const char *out, size_t out_len)
{
    json_t *a = json_loadb(in, n, JSON_DECODE_ANY, NULL), *b;

    if (!a)
        return;
    b = json_loadb(out, out_len, JSON_DECODE_ANY, NULL);
    CHECK(b != NULL);
    CHECK(same_but_scrubbed(a, b, NULL));
    json_decref(a);
    json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *out;
    char *in;
    size_t n, out_len = 0;
    static const char *const paths[] = { "/pool.xml", "/pool.txt", "/server.json" };
    int which;

    if (size == 0)
        return 0;
    which = data[0] % 3;
    /* A copy of exactly the body's size, so ASan sees any read past it. */
    n = size - 1;
    in = malloc(n ? n : 1);
    CHECK(in != NULL);
    memcpy(in, data + 1, n);
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    out = papi_redact(p, paths[which], in, n, &out_len);
    CHECK(out != NULL);
    CHECK(out_len <= n + 11 * count(out, out_len, PAPI_REDACTED));
    if (which == 0)
        check_xml(p, in, n, out, out_len);
    else if (which == 1)
        check_text(out, out_len);
    else
        check_json(in, n, out, out_len);
    apr_pool_destroy(p);
    free(in);
    return 0;
}
