#include "papi_xml.h"

#include <apr_strings.h>
#include <string.h>

/* Room for an element's text to begin with: most are numbers, none of a real pool is longer. */
#define PAPI_XML_TEXT_START 4096

typedef struct papi_xml_open {
    const char *name;
    apr_size_t len;
} papi_xml_open;

/* One reading: where it is, the elements open, and the text being gathered. */
typedef struct papi_xml_run {
    apr_pool_t *p;
    const papi_xml_reader *r;
    const char *doc, *s, *end;
    papi_xml_open open[PAPI_XML_DEPTH_MAX];
    int depth;
    int root_done;
    int text_depth;             /* the depth whose text is gathered, 0: none */
    char *text;                 /* in the encoding papi_xml_text says */
    apr_size_t text_len, text_size;
    int wide;
    papi_xml_status status;
    const char *why;
} papi_xml_run;

/* ---- failing ---------------------------------------------------------------------------------- */

/* Not well-formed at at: why, with its line and column (counted only now, on the way out). */
static int papi_xml_bad(papi_xml_run *x, const char *at, const char *what)
{
    const char *c, *line = x->doc;
    int n = 1;

    if (x->status != PAPI_XML_OK)
        return -1;
    for (c = x->doc; c < at && c < x->end; c++)
        if (*c == '\n') {
            n++;
            line = c + 1;
        }
    x->status = PAPI_XML_MALFORMED;
    x->why = apr_psprintf(x->p, "%s (line %d, column %d)", what, n, (int)(at - line) + 1);
    return -1;
}

static int papi_xml_stop(papi_xml_run *x, const char *why)
{
    x->status = PAPI_XML_STOPPED;
    x->why = why;
    return -1;
}

/* ---- characters ------------------------------------------------------------------------------- */

static int papi_xml_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* XML's Char, of a code point from a reference (a raw byte is checked as it is read). */
static int papi_xml_char_ok(apr_uint32_t cp)
{
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF)
           || (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* XML's NameStartChar (START) and NameChar (START or NAME), of ISO-8859-1 bytes, without ':'
 * (no namespaces): a table, as every element name of a large pool.xml goes through it. */
enum { PAPI_XML_NAME = 1, PAPI_XML_START = 2 };
static const unsigned char papi_xml_name_class[256] = {
    ['a' ... 'z'] = PAPI_XML_START, ['A' ... 'Z'] = PAPI_XML_START, ['_'] = PAPI_XML_START,
    [0xC0 ... 0xD6] = PAPI_XML_START, [0xD8 ... 0xF6] = PAPI_XML_START,
    [0xF8 ... 0xFF] = PAPI_XML_START,
    ['0' ... '9'] = PAPI_XML_NAME, ['-'] = PAPI_XML_NAME, ['.'] = PAPI_XML_NAME,
    [0xB7] = PAPI_XML_NAME,
};

static int papi_xml_name_start(unsigned char c)
{
    return papi_xml_name_class[c] == PAPI_XML_START;
}

static int papi_xml_name_char(unsigned char c)
{
    return papi_xml_name_class[c] != 0;
}

/* A name at x->s: its length (x->s moves past it), 0 when there is none, or when it has a ':'
 * (a namespace prefix: Passenger writes none, and names are compared as written). */
static apr_size_t papi_xml_name(papi_xml_run *x)
{
    const char *start = x->s;

    if (x->s == x->end || !papi_xml_name_start((unsigned char)*x->s))
        return 0;
    while (++x->s < x->end && papi_xml_name_char((unsigned char)*x->s))
        ;
    return x->s < x->end && *x->s == ':' ? 0 : (apr_size_t)(x->s - start);
}

static void papi_xml_skip_blanks(papi_xml_run *x)
{
    while (x->s < x->end && papi_xml_blank((unsigned char)*x->s))
        x->s++;
}

/* ---- the text being gathered ------------------------------------------------------------------ */

static void papi_xml_room(papi_xml_run *x, apr_size_t more)
{
    char *bigger;

    if (x->text_len + more + 1 <= x->text_size)
        return;
    x->text_size = (x->text_len + more + 1) * 2;
    bigger = apr_palloc(x->p, x->text_size);
    if (x->text_len)
        memcpy(bigger, x->text, x->text_len);
    x->text = bigger;
}

/* From one byte per character to UTF-8, when a character beyond U+00FF comes. */
static void papi_xml_widen(papi_xml_run *x)
{
    apr_size_t i, n = 0, extra = 0;
    char *utf8;

    for (i = 0; i < x->text_len; i++)
        extra += (unsigned char)x->text[i] >= 0x80;
    utf8 = apr_palloc(x->p, (x->text_size = (x->text_len + extra) * 2 + 8));
    for (i = 0; i < x->text_len; i++) {
        unsigned char c = (unsigned char)x->text[i];
        if (c < 0x80)
            utf8[n++] = (char)c;
        else {
            utf8[n++] = (char)(0xC0 | (c >> 6));
            utf8[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    x->text = utf8;
    x->text_len = n;
    x->wide = 1;
}

static void papi_xml_put_char(papi_xml_run *x, apr_uint32_t cp)
{
    char *o;

    if (cp > 0xFF && !x->wide)
        papi_xml_widen(x);
    papi_xml_room(x, 4);
    o = x->text + x->text_len;
    if (!x->wide || cp < 0x80)
        *o++ = (char)cp;
    else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    x->text_len = (apr_size_t)(o - x->text);
}

/* Raw bytes, already checked: as they are while narrow (ISO-8859-1 is one byte a character). */
static void papi_xml_put_bytes(papi_xml_run *x, const char *s, apr_size_t n)
{
    apr_size_t i;

    if (x->wide) {
        for (i = 0; i < n; i++)
            papi_xml_put_char(x, (unsigned char)s[i]);
        return;
    }
    papi_xml_room(x, n);
    memcpy(x->text + x->text_len, s, n);
    x->text_len += n;
}

/* ---- text, references, CDATA ------------------------------------------------------------------ */

/* A reference after its '&' at x->s: its character, or 0 (x->status set) when it is not one. */
static apr_uint32_t papi_xml_reference(papi_xml_run *x)
{
    static const struct { const char *name; apr_size_t len; char c; } named[] = {
        { "lt;", 3, '<' }, { "gt;", 3, '>' }, { "amp;", 4, '&' }, { "quot;", 5, '"' },
        { "apos;", 5, '\'' },
    };
    const char *at = x->s - 1;
    apr_uint32_t cp = 0;
    apr_size_t i;
    int hex, digits = 0;

    if (x->s < x->end && *x->s == '#') {
        hex = ++x->s < x->end && *x->s == 'x';
        x->s += hex;
        for (; x->s < x->end && *x->s != ';'; x->s++, digits++) {
            unsigned char c = (unsigned char)*x->s;
            unsigned d = c >= '0' && c <= '9' ? c - '0'
                         : hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                         : 99;
            if (d == 99 || cp > 0x10FFFF)
                return papi_xml_bad(x, at, "a character reference that is not a number"), 0;
            cp = cp * (hex ? 16 : 10) + d;
        }
        if (x->s == x->end || !digits || !papi_xml_char_ok(cp))
            return papi_xml_bad(x, at, "a character reference to no allowed character"), 0;
        x->s++;
        return cp;
    }
    for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if ((apr_size_t)(x->end - x->s) >= named[i].len
            && !memcmp(x->s, named[i].name, named[i].len)) {
            x->s += named[i].len;
            return (unsigned char)named[i].c;
        }
    return papi_xml_bad(x, at, "an entity that is not defined (there is no DTD)"), 0;
}

/* What character data is read as: its mode tells what ends it and what a reference is. */
typedef enum {
    PAPI_XML_CONTENT,       /* an element's text: a '<' ends it */
    PAPI_XML_VALUE,         /* an attribute value: a '<' is not allowed */
    PAPI_XML_RAW            /* a CDATA section: '<' and '&' are plain characters */
} papi_xml_mode;

/* Blanks outside the root element, up to the next '<'. */
static int papi_xml_blanks(papi_xml_run *x)
{
    for (; x->s < x->end && *x->s != '<'; x->s++)
        if (!papi_xml_blank((unsigned char)*x->s))
            return papi_xml_bad(x, x->s, "text outside the root element");
    return 0;
}

/* Character data up to stop (exclusive), or in CONTENT to the next '<'; gathered when keep. A
 * raw CR (alone or before a LF) is a LF, as XML says, and in a VALUE every raw blank a space. */
static int papi_xml_chars(papi_xml_run *x, const char *stop, papi_xml_mode mode, int keep)
{
    int plain_markup = mode == PAPI_XML_RAW;

    while (x->s < stop) {
        const char *run = x->s;
        unsigned char c = 0;
        while (x->s < stop && (c = (unsigned char)*x->s) >= 0x20
               && ((c != '&' && c != '<' && c != ']') || plain_markup))
            x->s++;
        if (keep && x->s > run)
            papi_xml_put_bytes(x, run, (apr_size_t)(x->s - run));
        if (x->s == stop)
            break;
        if (c == ']') {     /* "]]>" may end a CDATA section only */
            if (mode == PAPI_XML_CONTENT && stop - x->s >= 3 && !memcmp(x->s, "]]>", 3))
                return papi_xml_bad(x, x->s, "\"]]>\" in text");
            if (keep)
                papi_xml_put_bytes(x, x->s, 1);
            x->s++;
            continue;
        }
        if (c == '<') {
            if (mode == PAPI_XML_VALUE)
                return papi_xml_bad(x, x->s, "a '<' in an attribute value");
            return 0;
        }
        if (c == '&') {
            apr_uint32_t cp;
            x->s++;
            if ((cp = papi_xml_reference(x)) == 0)
                return -1;
            if (keep)
                papi_xml_put_char(x, cp);
            continue;
        }
        if (c != '\t' && c != '\n' && c != '\r')
            return papi_xml_bad(x, x->s, "a control character that XML does not allow");
        x->s++;
        if (c == '\r' && x->s < stop && *x->s == '\n')
            x->s++;
        if (keep)   /* in a value, a blank written as it is is a space (a reference is not) */
            papi_xml_put_char(x, mode == PAPI_XML_VALUE ? ' ' : c == '\r' ? '\n' : c);
    }
    return 0;
}

/* ---- markup ----------------------------------------------------------------------------------- */

static int papi_xml_starts(const papi_xml_run *x, const char *with)
{
    apr_size_t n = strlen(with);

    return (apr_size_t)(x->end - x->s) >= n && !memcmp(x->s, with, n);
}

/* The end of a construct (its terminator at x->s or later): x->s past it, or NULL. */
static const char *papi_xml_find(papi_xml_run *x, const char *terminator)
{
    apr_size_t n = strlen(terminator);
    const char *c;

    for (c = x->s; (apr_size_t)(x->end - c) >= n; c++)
        if (*c == *terminator && !memcmp(c, terminator, n))
            return c;
    return NULL;
}

/* The bytes of a comment, PI or CDATA section: Chars only. */
static int papi_xml_plain(papi_xml_run *x, const char *from, const char *to)
{
    for (; from < to; from++)
        if ((unsigned char)*from < 0x20 && !papi_xml_blank((unsigned char)*from))
            return papi_xml_bad(x, from, "a control character that XML does not allow");
    return 0;
}

/* <!-- ... -->, after "<!--": "--" may not appear inside. */
static int papi_xml_comment(papi_xml_run *x, const char *at)
{
    const char *end = papi_xml_find(x, "--");

    if (!end || end + 2 >= x->end || end[2] != '>')
        return papi_xml_bad(x, at, end ? "\"--\" inside a comment" : "a comment never closed");
    if (papi_xml_plain(x, x->s, end))
        return -1;
    x->s = end + 3;
    return 0;
}

/* One pseudo-attribute of the XML declaration at x->s (blanks before it required): its name
 * must be name, its value is quoted and made of the bytes allowed, *value its first byte.
 * 1 when there, 0 when absent (x->s unmoved), -1 when malformed. */
static int papi_xml_decl_word(papi_xml_run *x, const char *name, const char *allowed,
                              const char **value)
{
    const char *back = x->s;
    char quote;

    papi_xml_skip_blanks(x);
    if (x->s == back || !papi_xml_starts(x, name)) {
        x->s = back;
        return 0;
    }
    x->s += strlen(name);
    papi_xml_skip_blanks(x);
    if (x->s == x->end || *x->s++ != '=')
        return -1;
    papi_xml_skip_blanks(x);
    if (x->s == x->end || (*x->s != '"' && *x->s != '\''))
        return -1;
    quote = *x->s++;
    for (*value = x->s; x->s < x->end && *x->s != quote; x->s++)
        if (!*x->s || !strchr(allowed, *x->s))
            return -1;
    if (x->s == x->end || x->s == *value)
        return -1;
    x->s++;
    return 1;
}

/* The bytes [v, end) are word. */
static int papi_xml_is(const char *v, const char *end, const char *word)
{
    return (apr_size_t)(end - v) == strlen(word) && !memcmp(v, word, (apr_size_t)(end - v));
}

/* <?xml version="1.x" encoding="..." standalone="yes|no"?>, after "<?xml": its words are
 * checked, not obeyed (the encoding is ISO-8859-1 whatever it says). */
static int papi_xml_declaration(papi_xml_run *x, const char *at)
{
    static const char name_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    const char *v;
    apr_size_t n;
    int there;

    /* version="1." and digits */
    if (papi_xml_decl_word(x, "version", "0123456789.", &v) != 1
        || (n = (apr_size_t)(x->s - 1 - v)) < 3 || memcmp(v, "1.", 2) || memchr(v + 2, '.', n - 2))
        return papi_xml_bad(x, at, "a malformed XML declaration (version)");
    /* encoding="a letter, then letters, digits, '.', '_' or '-'" */
    if ((there = papi_xml_decl_word(x, "encoding", name_chars, &v)) < 0
        || (there && !((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z'))))
        return papi_xml_bad(x, at, "a malformed XML declaration (encoding)");
    /* standalone="yes" or "no" */
    if ((there = papi_xml_decl_word(x, "standalone", "yesno", &v)) < 0
        || (there && !papi_xml_is(v, x->s - 1, "yes") && !papi_xml_is(v, x->s - 1, "no")))
        return papi_xml_bad(x, at, "a malformed XML declaration (standalone)");
    papi_xml_skip_blanks(x);
    if (!papi_xml_starts(x, "?>"))
        return papi_xml_bad(x, at, "a malformed XML declaration");
    x->s += 2;
    return 0;
}

/* <?target ...?>, after "<?". The XML declaration only at the very start. */
static int papi_xml_pi(papi_xml_run *x, const char *at)
{
    const char *target = x->s, *end;
    apr_size_t n = papi_xml_name(x);

    if (!n)
        return papi_xml_bad(x, at, "a processing instruction without a target");
    if (n == 3 && !strncasecmp(target, "xml", 3)) {
        if (at != x->doc || memcmp(target, "xml", 3))
            return papi_xml_bad(x, at, "an XML declaration that is not at the start");
        return papi_xml_declaration(x, at);
    }
    if (x->s < x->end && !papi_xml_blank((unsigned char)*x->s) && !papi_xml_starts(x, "?>"))
        return papi_xml_bad(x, x->s, "a processing instruction's target runs into its text");
    if (!(end = papi_xml_find(x, "?>")))
        return papi_xml_bad(x, at, "a processing instruction never closed");
    if (papi_xml_plain(x, x->s, end))
        return -1;
    x->s = end + 2;
    return 0;
}

/* <![CDATA[ ... ]]>, after "<![CDATA[": text taken as it is. */
static int papi_xml_cdata(papi_xml_run *x, const char *at)
{
    const char *end = papi_xml_find(x, "]]>");

    if (!end)
        return papi_xml_bad(x, at, "a CDATA section never closed");
    if (papi_xml_chars(x, end, PAPI_XML_RAW, x->text_depth == x->depth))
        return -1;
    x->s = end + 3;
    return 0;
}

/* An attribute's value after its opening quote, decoded into the pool. */
static int papi_xml_attr_value(papi_xml_run *x, papi_xml_attr *a)
{
    char quote = x->s[-1];
    const char *close = memchr(x->s, quote, (apr_size_t)(x->end - x->s));
    char *saved_text = x->text;
    apr_size_t saved_len = x->text_len, saved_size = x->text_size;
    int saved_wide = x->wide;

    if (!close)
        return papi_xml_bad(x, x->s - 1, "an attribute value never closed");
    /* Decoded through the text buffer, which is set aside meanwhile. */
    x->text = NULL;
    x->text_len = x->text_size = 0;
    x->wide = 0;
    if (papi_xml_chars(x, close, PAPI_XML_VALUE, 1))
        return -1;
    papi_xml_room(x, 0);
    x->text[x->text_len] = '\0';
    a->value = (papi_xml_text){ x->text, x->text_len, x->wide };
    x->text = saved_text;
    x->text_len = saved_len;
    x->text_size = saved_size;
    x->wide = saved_wide;
    x->s = close + 1;
    return 0;
}

static int papi_xml_attrs(papi_xml_run *x, papi_xml_attr *attrs, int *nattrs)
{
    int i;

    *nattrs = 0;
    for (;;) {
        const char *before = x->s;
        papi_xml_attr *a;
        papi_xml_skip_blanks(x);
        if (x->s == x->end || *x->s == '>' || *x->s == '/')
            return 0;
        if (x->s == before)
            return papi_xml_bad(x, x->s, "no blank before an attribute");
        if (*nattrs == PAPI_XML_ATTRS_MAX)
            return papi_xml_bad(x, x->s, "too many attributes");
        a = &attrs[*nattrs];
        a->name = x->s;
        if (!(a->name_len = papi_xml_name(x)))
            return papi_xml_bad(x, x->s, "an attribute without a name (or with a prefix)");
        if (a->name_len == 5 && !memcmp(a->name, "xmlns", 5))
            return papi_xml_bad(x, a->name, "a namespace declaration (namespaces are not read)");
        for (i = 0; i < *nattrs; i++)
            if (attrs[i].name_len == a->name_len && !memcmp(attrs[i].name, a->name, a->name_len))
                return papi_xml_bad(x, a->name, "an attribute given twice");
        papi_xml_skip_blanks(x);
        if (x->s == x->end || *x->s++ != '=')
            return papi_xml_bad(x, x->s, "an attribute without '='");
        papi_xml_skip_blanks(x);
        if (x->s == x->end || (*x->s != '"' && *x->s != '\''))
            return papi_xml_bad(x, x->s, "an attribute value without quotes");
        x->s++;
        if (papi_xml_attr_value(x, a))
            return -1;
        ++*nattrs;
    }
}

/* The element on top closes. */
static int papi_xml_close(papi_xml_run *x)
{
    papi_xml_text text = { NULL, 0, 0 };
    const char *why;
    int kept = x->text_depth == x->depth;

    if (kept) {
        papi_xml_room(x, 0);
        x->text[x->text_len] = '\0';
        text = (papi_xml_text){ x->text, x->text_len, x->wide };
        x->text_depth = 0;
    }
    x->depth--;
    x->root_done = x->depth == 0;
    if ((why = x->r->close(x->r->ctx, kept ? &text : NULL)) != NULL)
        return papi_xml_stop(x, why);
    return 0;
}

/* <name attrs> or <name attrs/>, after its '<'. */
static int papi_xml_start_tag(papi_xml_run *x, const char *at)
{
    papi_xml_attr attrs[PAPI_XML_ATTRS_MAX];
    const char *name = x->s, *why;
    apr_size_t len = papi_xml_name(x);
    int nattrs, want = 0, empty;

    if (!len)
        return papi_xml_bad(x, at, "a '<' not followed by a name (without a prefix)");
    if (x->root_done)
        return papi_xml_bad(x, at, "a second root element");
    if (x->depth == PAPI_XML_DEPTH_MAX)
        return papi_xml_bad(x, at, "elements nested too deep");
    if (papi_xml_attrs(x, attrs, &nattrs))
        return -1;
    empty = papi_xml_starts(x, "/>");
    if (!empty && !papi_xml_starts(x, ">"))
        return papi_xml_bad(x, x->s, "a start tag not closed by '>'");
    x->s += empty ? 2 : 1;
    x->open[x->depth++] = (papi_xml_open){ name, len };
    if ((why = x->r->open(x->r->ctx, name, len, attrs, nattrs, &want)) != NULL)
        return papi_xml_stop(x, why);
    if (want && !x->text_depth) {
        x->text_depth = x->depth;
        x->text_len = 0;
        x->wide = 0;
    }
    return empty ? papi_xml_close(x) : 0;
}

/* </name>, after its "</". */
static int papi_xml_end_tag(papi_xml_run *x, const char *at)
{
    const char *name = x->s;
    const papi_xml_open *top = x->depth ? &x->open[x->depth - 1] : NULL;
    apr_size_t len;

    /* Nearly always "</" and the open element's name then '>': matched without reading the name
     * character by character. */
    if (top && (apr_size_t)(x->end - x->s) > top->len && x->s[top->len] == '>'
        && !memcmp(x->s, top->name, top->len)) {
        x->s += top->len + 1;
        return papi_xml_close(x);
    }
    if (!(len = papi_xml_name(x)))
        return papi_xml_bad(x, at, "an end tag without a name");
    if (!top || top->len != len || memcmp(top->name, name, len))
        return papi_xml_bad(x, at, "an end tag that does not match its start tag (mismatch)");
    papi_xml_skip_blanks(x);
    if (x->s == x->end || *x->s != '>')
        return papi_xml_bad(x, x->s, "an end tag not closed by '>'");
    x->s++;
    return papi_xml_close(x);
}

/* Markup at x->s, a '<'. */
static int papi_xml_markup(papi_xml_run *x)
{
    const char *at = x->s;

    if (papi_xml_starts(x, "<!--")) {
        x->s += 4;
        return papi_xml_comment(x, at);
    }
    if (papi_xml_starts(x, "<![CDATA[")) {
        x->s += 9;
        return x->depth ? papi_xml_cdata(x, at)
                        : papi_xml_bad(x, at, "a CDATA section outside the root element");
    }
    if (papi_xml_starts(x, "<!DOCTYPE")) {
        x->status = PAPI_XML_DOCTYPE;
        return -1;
    }
    if (papi_xml_starts(x, "<!"))
        return papi_xml_bad(x, at, "a markup declaration, which only a DTD may hold");
    if (papi_xml_starts(x, "<?")) {
        x->s += 2;
        return papi_xml_pi(x, at);
    }
    if (papi_xml_starts(x, "</")) {
        x->s += 2;
        return papi_xml_end_tag(x, at);
    }
    x->s++;
    return papi_xml_start_tag(x, at);
}

papi_xml_status papi_xml_read(apr_pool_t *p, const char *xml, apr_size_t len,
                              const papi_xml_reader *r, const char **why)
{
    papi_xml_run *x = apr_pcalloc(p, sizeof(*x));

    x->p = p;
    x->r = r;
    x->doc = x->s = xml;
    x->end = xml + len;
    x->text_size = PAPI_XML_TEXT_START;
    x->text = apr_palloc(p, x->text_size);
    while (x->s < x->end && x->status == PAPI_XML_OK) {
        if (*x->s == '<')
            papi_xml_markup(x);
        else if (!x->depth)
            papi_xml_blanks(x);
        else
            papi_xml_chars(x, x->end, PAPI_XML_CONTENT, x->text_depth == x->depth);
    }
    if (x->status == PAPI_XML_OK && x->depth)
        papi_xml_bad(x, x->end, apr_psprintf(p, "the document ends inside <%s>",
                                             apr_pstrmemdup(p, x->open[x->depth - 1].name,
                                                            x->open[x->depth - 1].len)));
    else if (x->status == PAPI_XML_OK && !x->root_done)
        papi_xml_bad(x, x->end, "no root element");
    *why = x->why;
    return x->status;
}
