/* libFuzzer target for papi_json_string: the output must parse (jansson) as one JSON string,
 * contain nothing that needs escaping, and decode to the input with each byte that is not part
 * of well-formed UTF-8 replaced by U+FFFD. The expected text comes from an independent decoder
 * that works on code point values rather than on byte ranges. */
#include <jansson.h>
#include <string.h>

#include "papi_fuzz.h"
#include "papi_json.h"

/* Length of the well-formed sequence at s, or 0: decode, then refuse by value. */
static size_t reference_sequence_len(const uint8_t *s, size_t n)
{
    uint32_t cp, min;
    size_t need, i;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        need = 2, cp = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        need = 3, cp = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        need = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* What the JSON string must decode to; *out_len set. The caller frees. */
static char *expected_text(const uint8_t *s, size_t n, size_t *out_len)
{
    char *out = malloc(3 * n + 1);
    size_t i = 0, o = 0;

    CHECK(out != NULL);
    while (i < n) {
        size_t len = reference_sequence_len(s + i, n - i);

        if (len == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        }
    }
    *out_len = o;
    return out;
}

/* Raw output bytes that should have been escaped. */
static void check_nothing_raw(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        CHECK(c >= 0x20 && c != 0x7F && c != '<' && c != '>' && c != '&');
        CHECK(!(c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] < 0xA0));
        CHECK(!(c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80
                && ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    papi_buf *b;
    json_error_t err;
    json_t *j;
    char *want;
    size_t want_len;

    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    b = papi_buf_make(p, 0);
    papi_json_string(b, (const char *)data, size);
    CHECK(b->len >= 2 && b->data[0] == '"' && b->data[b->len - 1] == '"');
    CHECK(strlen(b->data) == b->len);
    check_nothing_raw(b->data, b->len);

    j = json_loadb(b->data, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    CHECK(j != NULL && json_is_string(j));
    want = expected_text(data, size, &want_len);
    CHECK(json_string_length(j) == want_len);
    CHECK(memcmp(json_string_value(j), want, want_len) == 0);
    free(want);
    json_decref(j);
    apr_pool_destroy(p);
    return 0;
}
