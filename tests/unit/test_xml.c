/* papi_xml, the reader of pool.xml's XML: what a reader is told (elements, attributes, text when
 * asked for), what it decodes (references, CR LF, characters beyond U+00FF) and what it refuses,
 * with where. */
#include "papi_test.h"
#include "papi_xml.h"

#include <apr_strings.h>
#include <string.h>

/* What a reading told, one line per event: "<name", " attr=value" (ISO-8859-1 bytes, or "wide:"
 * and UTF-8), ">text" for an element whose text was asked for, ">" else. */
typedef struct told {
    apr_pool_t *p;
    const char *lines;
    const char *want;           /* the names whose text is asked for, ",a,b," */
    const char *stop_at;        /* a name whose opening stops the reading */
} told;

static const char *shown(apr_pool_t *p, const papi_xml_text *t)
{
    return apr_pstrcat(p, t->wide ? "wide:" : "", apr_pstrmemdup(p, t->data, t->len), NULL);
}

static const char *told_open(void *ctx, const char *name, apr_size_t len,
                             const papi_xml_attr *attrs, int nattrs, int *want_text)
{
    told *t = ctx;
    const char *n = apr_pstrmemdup(t->p, name, len);
    int i;

    t->lines = apr_pstrcat(t->p, t->lines, "<", n, NULL);
    for (i = 0; i < nattrs; i++)
        t->lines = apr_pstrcat(t->p, t->lines, " ",
                               apr_pstrmemdup(t->p, attrs[i].name, attrs[i].name_len), "=",
                               shown(t->p, &attrs[i].value), NULL);
    t->lines = apr_pstrcat(t->p, t->lines, "\n", NULL);
    *want_text = strstr(t->want, apr_pstrcat(t->p, ",", n, ",", NULL)) != NULL;
    return t->stop_at && !strcmp(n, t->stop_at) ? "the reader had enough" : NULL;
}

static const char *told_close(void *ctx, const papi_xml_text *text)
{
    told *t = ctx;

    if (text)
        assert_int_equal(text->data[text->len], '\0');
    t->lines = apr_pstrcat(t->p, t->lines, ">", text ? shown(t->p, text) : "", "\n", NULL);
    return NULL;
}

static papi_xml_status read_doc(apr_pool_t *p, const char *xml, apr_size_t len, const char *want,
                                const char **lines, const char **why)
{
    told t = { p, "", want, NULL };
    papi_xml_reader r = { &t, told_open, told_close };
    papi_xml_status status = papi_xml_read(p, xml, len, &r, why);

    *lines = t.lines;
    return status;
}

/* The lines told for a document read to its end. */
static const char *read_ok(apr_pool_t *p, const char *xml, const char *want)
{
    const char *lines, *why;

    if (read_doc(p, xml, strlen(xml), want, &lines, &why) != PAPI_XML_OK)
        fail_msg("refused: %s: %s", xml, why);
    assert_null(why);
    return lines;
}

/* Why a document is not well-formed. */
static const char *read_bad(apr_pool_t *p, const char *xml, apr_size_t len)
{
    const char *lines, *why;
    papi_xml_status status = read_doc(p, xml, len, ",", &lines, &why);

    if (status != PAPI_XML_MALFORMED)
        fail_msg("not refused as malformed (status %d): %s", status, xml);
    assert_non_null(why);
    return why;
}

static void elements_in_order_text_when_asked(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(read_ok(p, "<?xml version=\"1.0\" encoding=\"iso-8859-1\" ?>\n"
                                   "<info version=\"3\"><a>1</a><b>x<c>no</c>y</b><d/></info>\n",
                                ",a,b,d,"),
                        "<info version=3\n<a\n>1\n<b\n<c\n>\n>xy\n<d\n>\n>\n");
    /* Text of one element at a time: one asked for inside another is not gathered apart. */
    assert_string_equal(read_ok(p, "<r><a>1<b>2</b>3</a></r>", ",a,b,"),
                        "<r\n<a\n<b\n>\n>13\n>\n");
    /* Comments, processing instructions and CDATA. */
    assert_string_equal(read_ok(p, "<!-- c --><?pi x?><r>a<!-- - -->b<![CDATA[<&>]]>c<?p?></r>"
                                   "<!-- after -->\n", ",r,"),
                        "<r\n>ab<&>c\n");
}

static void references_and_line_ends_decoded(void **state)
{
    apr_pool_t *p = *state;

    assert_string_equal(read_ok(p, "<r>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#195;&#169;</r>", ",r,"),
                        "<r\n><>&\"'AB\xC3\xA9\n");
    /* A raw CR LF or CR is a LF; references to them are kept as they are. */
    assert_string_equal(read_ok(p, "<r>a\r\nb\rc&#13;&#10;</r>", ",r,"), "<r\n>a\nb\nc\r\n\n");
    /* Raw bytes are ISO-8859-1 characters, one byte each, until one beyond U+00FF comes. */
    assert_string_equal(read_ok(p, "<r>\xE9&#233;</r>", ",r,"), "<r\n>\xE9\xE9\n");
    assert_string_equal(read_ok(p, "<r>\xE9&#x65E5;</r>", ",r,"), "<r\n>wide:\xC3\xA9\xE6\x97\xA5\n");
    assert_string_equal(read_ok(p, "<r>&#128512;</r>", ",r,"), "<r\n>wide:\xF0\x9F\x98\x80\n");
    /* Attribute values: references decoded, raw blanks made spaces. */
    assert_string_equal(read_ok(p, "<r a='x\ty\nz\r\nw' b=\"&#9;&quot;'\"/>", ","),
                        "<r a=x y z w b=\t\"'\n>\n");
}

static void well_formedness_refused_with_its_place(void **state)
{
    static const struct {
        const char *xml;
        const char *why;
    } cases[] = {
        { "<r><a></b></r>", "does not match its start tag (mismatch) (line 1, column 7)" },
        { "<r>\n<a>\n</r>", "mismatch) (line 3, column 1)" },
        { "<r>&x;</r>", "entity that is not defined" },
        { "<r>&amp</r>", "entity that is not defined" },
        { "<r>&#0;</r>", "no allowed character" },
        { "<r>&#xD800;</r>", "no allowed character" },
        { "<r>&#X41;</r>", "not a number" },
        { "<r>&#99999999999;</r>", "not a number" },
        { "<r>\x01</r>", "control character" },
        { "<r>a]]>b</r>", "\"]]>\" in text" },
        { "<r a=\"<\"/>", "'<' in an attribute value" },
        { "<r a=\"1\" a=\"2\"/>", "an attribute given twice" },
        { "<r a=\"1\"b=\"2\"/>", "no blank before an attribute" },
        { "<r a=1/>", "without quotes" },
        { "<r a/>", "without '='" },
        { "<x:r/>", "a '<' not followed by a name" },
        { "<r x:a=\"1\"/>", "with a prefix" },
        { "<r xmlns=\"u\"/>", "a namespace declaration" },
        { "<r><!-- a -- b --></r>", "\"--\" inside a comment" },
        { "<r><!-- a", "a comment never closed" },
        { "<r><?pi", "never closed" },
        { " <?xml version=\"1.0\"?><r/>", "not at the start" },
        { "<?xml version=\"2.0\"?><r/>", "malformed XML declaration (version)" },
        { "<?xml version=\"1.0\" encoding=\"8bit\"?><r/>", "(encoding)" },
        { "<?xml version=\"1.0\" standalone=\"maybe\"?><r/>", "(standalone)" },
        { "<?xml version=\"1.0\"?junk><r/>", "malformed XML declaration" },
        { "<r><![CDATA[x</r>", "CDATA section never closed" },
        { "<![CDATA[x]]><r/>", "outside the root element" },
        { "x<r/>", "text outside the root element" },
        { "<r/>x", "text outside the root element" },
        { "<r/><r/>", "a second root element" },
        { "<r>", "the document ends inside <r>" },
        { " \n", "no root element" },
        { "<!ELEMENT r ANY><r/>", "markup declaration" },
        { "< r/>", "not followed by a name" },
        { "<r/ >", "not closed by '>'" },
        { "<r></r >x", "text outside" },
        { "\xEF\xBB\xBF<r/>", "text outside the root element" },
    };
    apr_pool_t *p = *state;
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = read_bad(p, cases[i].xml, strlen(cases[i].xml));
        if (!strstr(why, cases[i].why))
            fail_msg("%s: \"%s\" does not contain \"%s\"", cases[i].xml, why, cases[i].why);
    }
    /* A NUL is a control character too, wherever it is. */
    assert_non_null(strstr(read_bad(p, "<r/>\0", 5), "text outside the root element"));
    assert_non_null(strstr(read_bad(p, "<r>\0</r>", 8), "control character"));
    assert_non_null(strstr(read_bad(p, "<?xml version=\"1.0\" encoding=\"a\0\"?><r/>", 40),
                           "(encoding)"));
}

static void doctype_refused_before_it_is_read(void **state)
{
    apr_pool_t *p = *state;
    const char *lines, *why;
    const char *xml = "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>";

    assert_int_equal(read_doc(p, xml, strlen(xml), ",r,", &lines, &why), PAPI_XML_DOCTYPE);
    assert_string_equal(lines, "");
    xml = "<r><!DOCTYPE r></r>";
    assert_int_equal(read_doc(p, xml, strlen(xml), ",", &lines, &why), PAPI_XML_DOCTYPE);
}

static void nesting_bounded(void **state)
{
    apr_pool_t *p = *state;
    char *deep = apr_palloc(p, (PAPI_XML_DEPTH_MAX + 1) * 7 + 1), *at = deep;
    int i;

    for (i = 0; i < PAPI_XML_DEPTH_MAX; i++, at += 3)
        memcpy(at, "<a>", 3);
    for (i = 0; i < PAPI_XML_DEPTH_MAX; i++, at += 4)
        memcpy(at, "</a>", 4);
    *at = '\0';
    read_ok(p, deep, ",");
    deep = apr_pstrcat(p, "<b>", deep, "</b>", NULL);
    assert_non_null(strstr(read_bad(p, deep, strlen(deep)), "nested too deep"));
}

static void a_reader_stops_it(void **state)
{
    apr_pool_t *p = *state;
    told t = { p, "", ",", "b" };
    papi_xml_reader r = { &t, told_open, told_close };
    const char *why;

    assert_int_equal(papi_xml_read(p, "<r><a/><b/><c/></r>", 19, &r, &why), PAPI_XML_STOPPED);
    assert_string_equal(why, "the reader had enough");
    assert_string_equal(t.lines, "<r\n<a\n>\n<b\n");
}

PAPI_TEST_MAIN(
    PAPI_TEST(elements_in_order_text_when_asked),
    PAPI_TEST(references_and_line_ends_decoded),
    PAPI_TEST(well_formedness_refused_with_its_place),
    PAPI_TEST(doctype_refused_before_it_is_read),
    PAPI_TEST(nesting_bounded),
    PAPI_TEST(a_reader_stops_it))
