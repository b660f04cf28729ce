/* Unit tests for papi_json (string escaping) and papi_buf (the buffer it writes to). */
#include "papi_test.h"

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "papi_buf.h"
#include "papi_json.h"

#define FFFD "\xEF\xBF\xBD"

/* The JSON text for s[0..n). */
static const char *escape(apr_pool_t *p, const char *s, apr_size_t n)
{
    papi_buf *b = papi_buf_make(p, 0);

    papi_json_string(b, s, n);
    assert_int_equal(strlen(b->data), b->len);
    return b->data;
}

/* Escapes a literal, embedded NULs included. */
#define ESCAPE(p, lit) escape((p), (lit), sizeof(lit) - 1)

/* ---- papi_json ---- */

static void test_plain_ascii_unchanged(void **state)
{
    assert_string_equal(ESCAPE(*state, "hello, world /path?x=1"), "\"hello, world /path?x=1\"");
    assert_string_equal(ESCAPE(*state, ""), "\"\"");
}

static void test_quote_and_backslash(void **state)
{
    assert_string_equal(ESCAPE(*state, "a\"b\\c"), "\"a\\\"b\\\\c\"");
    assert_string_equal(ESCAPE(*state, "\"\""), "\"\\\"\\\"\"");
}

static void test_short_control_escapes(void **state)
{
    assert_string_equal(ESCAPE(*state, "\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
}

static void test_every_control_character(void **state)
{
    unsigned int c;

    for (c = 0; c < 0x20; c++) {
        char in[3] = { 'x', (char)c, 'y' };
        char want[16];
        const char *shorts = "\b\f\n\r\t", *letters = "bfnrt";
        const char *s = c ? strchr(shorts, (int)c) : NULL;

        if (s)
            snprintf(want, sizeof(want), "\"x\\%cy\"", letters[s - shorts]);
        else
            snprintf(want, sizeof(want), "\"x\\u%04xy\"", c);
        assert_string_equal(escape(*state, in, 3), want);
    }
    assert_string_equal(ESCAPE(*state, "\x01"), "\"\\u0001\"");
    assert_string_equal(ESCAPE(*state, "\x1f"), "\"\\u001f\"");
    assert_string_equal(ESCAPE(*state, "\x7f"), "\"\\u007f\"");
}

static void test_c1_controls_escaped(void **state)
{
    assert_string_equal(ESCAPE(*state, "\xC2\x80"), "\"\\u0080\"");
    assert_string_equal(ESCAPE(*state, "\xC2\x9B"), "\"\\u009b\"");
    assert_string_equal(ESCAPE(*state, "\xC2\x9F"), "\"\\u009f\"");
    /* U+00A0 is the first code point after them: not a control. */
    assert_string_equal(ESCAPE(*state, "\xC2\xA0"), "\"\xC2\xA0\"");
}

static void test_html_characters(void **state)
{
    assert_string_equal(ESCAPE(*state, "<script>a&b</script>"),
                        "\"\\u003cscript\\u003ea\\u0026b\\u003c/script\\u003e\"");
}

static void test_line_and_paragraph_separators(void **state)
{
    assert_string_equal(ESCAPE(*state, "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c"),
                        "\"a\\u2028b\\u2029c\"");
    /* Their neighbours pass through. */
    assert_string_equal(ESCAPE(*state, "\xE2\x80\xA7\xE2\x80\xAA"), "\"\xE2\x80\xA7\xE2\x80\xAA\"");
}

static void test_valid_multibyte_unchanged(void **state)
{
    static const char *const samples[] = {
        "caf\xC3\xA9",                  /* U+00E9 */
        "\xE2\x82\xAC",                 /* U+20AC */
        "\xED\x9F\xBF",                 /* U+D7FF, last before the surrogates */
        "\xEE\x80\x80",                 /* U+E000, first after them */
        "\xEF\xBF\xBD\xEF\xBF\xBF",     /* U+FFFD, U+FFFF */
        "\xF0\x90\x80\x80",             /* U+10000 */
        "\xF0\x9F\x98\x80",             /* U+1F600 */
        "\xF4\x8F\xBF\xBF",             /* U+10FFFF */
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
    };
    apr_size_t i;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const char *want = apr_pstrcat(*state, "\"", samples[i], "\"", NULL);

        assert_string_equal(escape(*state, samples[i], strlen(samples[i])), want);
    }
}

static void test_invalid_utf8_replaced_per_byte(void **state)
{
    /* Stray continuation bytes and bytes that never occur in UTF-8. */
    assert_string_equal(ESCAPE(*state, "a\x80" "b"), "\"a" FFFD "b\"");
    assert_string_equal(ESCAPE(*state, "\xBF"), "\"" FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xFE\xFF"), "\"" FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xF5\x80\x80\x80"), "\"" FFFD FFFD FFFD FFFD "\"");
    /* Overlong forms. */
    assert_string_equal(ESCAPE(*state, "\xC0\x80"), "\"" FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xC1\xBF"), "\"" FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xE0\x80\xAF"), "\"" FFFD FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xE0\x9F\xBF"), "\"" FFFD FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xF0\x8F\xBF\xBF"), "\"" FFFD FFFD FFFD FFFD "\"");
    /* Surrogates, high and low. */
    assert_string_equal(ESCAPE(*state, "\xED\xA0\x80"), "\"" FFFD FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xED\xBF\xBF"), "\"" FFFD FFFD FFFD "\"");
    /* Above U+10FFFF. */
    assert_string_equal(ESCAPE(*state, "\xF4\x90\x80\x80"), "\"" FFFD FFFD FFFD FFFD "\"");
    /* Truncated sequences: at the end, and followed by something else. */
    assert_string_equal(ESCAPE(*state, "\xC3"), "\"" FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xE2\x82"), "\"" FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xF0\x9F\x98"), "\"" FFFD FFFD FFFD "\"");
    assert_string_equal(ESCAPE(*state, "\xC3" "A"), "\"" FFFD "A\"");
    assert_string_equal(ESCAPE(*state, "\xE2\x82" "\""), "\"" FFFD FFFD "\\\"\"");
    /* A bad byte does not swallow the good sequence after it. */
    assert_string_equal(ESCAPE(*state, "\xE2\xC3\xA9"), "\"" FFFD "\xC3\xA9\"");
}

static void test_length_not_nul_bounded(void **state)
{
    assert_string_equal(ESCAPE(*state, "a\0b"), "\"a\\u0000b\"");
    /* n is obeyed even when the string goes on. */
    assert_string_equal(escape(*state, "abcdef", 3), "\"abc\"");
    /* A multibyte sequence cut by n is truncated, not read past. */
    assert_string_equal(escape(*state, "\xC3\xA9", 1), "\"" FFFD "\"");
}

static void test_cstr_and_null(void **state)
{
    papi_buf *b = papi_buf_make(*state, 0);

    papi_json_cstr(b, NULL);
    papi_buf_putc(b, ',');
    papi_json_cstr(b, "x<y");
    papi_buf_putc(b, ',');
    papi_json_cstr(b, "");
    assert_string_equal(b->data, "null,\"x\\u003cy\",\"\"");
}

static void test_appends_to_existing_content(void **state)
{
    papi_buf *b = papi_buf_make(*state, 0);

    papi_buf_puts(b, "{\"k\":");
    papi_json_string(b, "v\n", 2);
    papi_buf_putc(b, '}');
    assert_string_equal(b->data, "{\"k\":\"v\\n\"}");
    assert_int_equal(b->len, strlen("{\"k\":\"v\\n\"}"));
}

static void test_long_input_mixed(void **state)
{
    papi_buf *in = papi_buf_make(*state, 0), *want = papi_buf_make(*state, 0);
    int i;

    papi_buf_putc(want, '"');
    for (i = 0; i < 5000; i++) {
        papi_buf_puts(in, "ab\xC3\xA9<\x80");
        papi_buf_puts(want, "ab\xC3\xA9\\u003c" FFFD);
    }
    papi_buf_putc(want, '"');
    assert_string_equal(escape(*state, in->data, in->len), want->data);
}

/* ---- papi_buf ---- */

static void test_buf_starts_empty(void **state)
{
    papi_buf *b = papi_buf_make(*state, 0);

    assert_int_equal(b->len, 0);
    assert_true(b->cap >= 1);
    assert_string_equal(b->data, "");
}

static void test_buf_growth_many_appends(void **state)
{
    papi_buf *b = papi_buf_make(*state, 1);
    apr_size_t i, expected_len = 0;

    /* Appends of sizes 0..16, repeating, checked byte for byte afterwards. */
    for (i = 0; i < 100000; i++) {
        char piece[16];
        apr_size_t n = i % 17, k;

        for (k = 0; k < n; k++)
            piece[k] = (char)('a' + (i + k) % 26);
        papi_buf_add(b, piece, n);
        expected_len += n;
        assert_int_equal(b->len, expected_len);
        assert_int_equal(b->data[b->len], '\0');
        assert_true(b->cap > b->len);
    }
    expected_len = 0;
    for (i = 0; i < 100000; i++) {
        apr_size_t n = i % 17, k;

        for (k = 0; k < n; k++)
            assert_int_equal(b->data[expected_len + k], (char)('a' + (i + k) % 26));
        expected_len += n;
    }
    /* Geometric growth keeps the capacity within a small factor of what is used. */
    assert_true(b->cap <= 2 * (b->len + 1));
}

static void test_buf_initial_capacity_kept(void **state)
{
    papi_buf *b = papi_buf_make(*state, 10000);
    char *before = b->data;
    int i;

    assert_true(b->cap >= 10000);
    for (i = 0; i < 9999; i++)
        papi_buf_putc(b, 'x');
    assert_ptr_equal(b->data, before);    /* no regrowth within the initial size */
    assert_int_equal(b->len, 9999);
}

static void test_buf_puts_putc_embedded_nul(void **state)
{
    papi_buf *b = papi_buf_make(*state, 0);

    papi_buf_puts(b, "ab");
    papi_buf_putc(b, '\0');
    papi_buf_add(b, "cd", 2);
    papi_buf_puts(b, "");
    assert_int_equal(b->len, 5);
    assert_memory_equal(b->data, "ab\0cd\0", 6);
}

static void test_buf_printf(void **state)
{
    papi_buf *b = papi_buf_make(*state, 0);
    char big[10001];

    papi_buf_printf(b, "%d-%s-%05.1f", 42, "x", 3.25);
    assert_string_equal(b->data, "42-x-003.2");
    assert_int_equal(b->len, 10);

    /* Much longer than the free room: must grow and format the whole text. */
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    papi_buf_printf(b, "[%s]", big);
    assert_int_equal(b->len, 10 + 10002);
    assert_int_equal(b->data[10], '[');
    assert_int_equal(b->data[11], 'z');
    assert_int_equal(b->data[10 + 10000], 'z');
    assert_int_equal(b->data[10 + 10001], ']');
    assert_int_equal(b->data[b->len], '\0');

    papi_buf_printf(b, "%s", "");
    assert_int_equal(b->len, 10 + 10002);
}

static void test_buf_printf_exact_fit(void **state)
{
    papi_buf *b = papi_buf_make(*state, 64);
    char text[64];

    /* 63 characters plus NUL exactly fill 64 bytes; one more forces growth. */
    memset(text, 'q', 63);
    text[63] = '\0';
    papi_buf_printf(b, "%s", text);
    assert_int_equal(b->len, 63);
    papi_buf_printf(b, "%s", "r");
    assert_int_equal(b->len, 64);
    assert_int_equal(b->data[63], 'r');
    assert_int_equal(b->data[64], '\0');
}

/* Watches a buffer from outside its pool. */
typedef struct buf_probe {
    papi_buf *buf;
    int ran, data_was_null;
} buf_probe;

static apr_status_t record_buf_state(void *data)
{
    buf_probe *probe = data;

    probe->ran = 1;
    probe->data_was_null = probe->buf->data == NULL;
    return APR_SUCCESS;
}

static void test_buf_freed_with_pool(void **state)
{
    apr_pool_t *sub;
    buf_probe *probe = apr_pcalloc(*state, sizeof(*probe));

    assert_int_equal(apr_pool_create(&sub, *state), APR_SUCCESS);
    /* Cleanups run last-registered first, so this one runs after the buffer's own, while the
     * pool's memory (and so the papi_buf struct) is still there. */
    apr_pool_cleanup_register(sub, probe, record_buf_state, apr_pool_cleanup_null);
    probe->buf = papi_buf_make(sub, 0);
    papi_buf_printf(probe->buf, "%0500d", 7);
    apr_pool_destroy(sub);
    assert_true(probe->ran);
    assert_true(probe->data_was_null);
}

PAPI_TEST_MAIN(
    PAPI_TEST(test_plain_ascii_unchanged),
    PAPI_TEST(test_quote_and_backslash),
    PAPI_TEST(test_short_control_escapes),
    PAPI_TEST(test_every_control_character),
    PAPI_TEST(test_c1_controls_escaped),
    PAPI_TEST(test_html_characters),
    PAPI_TEST(test_line_and_paragraph_separators),
    PAPI_TEST(test_valid_multibyte_unchanged),
    PAPI_TEST(test_invalid_utf8_replaced_per_byte),
    PAPI_TEST(test_length_not_nul_bounded),
    PAPI_TEST(test_cstr_and_null),
    PAPI_TEST(test_appends_to_existing_content),
    PAPI_TEST(test_long_input_mixed),
    PAPI_TEST(test_buf_starts_empty),
    PAPI_TEST(test_buf_growth_many_appends),
    PAPI_TEST(test_buf_initial_capacity_kept),
    PAPI_TEST(test_buf_puts_putc_embedded_nul),
    PAPI_TEST(test_buf_printf),
    PAPI_TEST(test_buf_printf_exact_fit),
    PAPI_TEST(test_buf_freed_with_pool))
