/* libFuzzer target for papi_xml_read, held to libxml2: whatever papi_xml accepts, libxml2 (as the
 * module used it before: SAX2, no network, no entity loading, the input read as ISO-8859-1) must
 * find well-formed too, and tell of the same elements, in the same order, with the same attributes
 * and the same text of each (its own text and CDATA, in UTF-8). papi_xml may refuse more than
 * libxml2 does, never less. Its reasons are non-empty and NUL-free; a reader's own reason comes
 * back as it was given. With FUZZ_XML_SHOW set in the environment, a run prints what both told
 * and libxml2's complaints (to read a crash input). */
#include "papi_fuzz.h"
#include "papi_xml.h"

#include <apr_strings.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <stdio.h>

/* What a parse told, one line per event ("<name", "@name=value", ">text" at the close): the text
 * of the elements at text_depth, gathered apart from their children's ("-" for the others: papi_xml
 * gathers one element's text at a time). */
typedef struct record {
    apr_pool_t *p;
    char *events;
    char *texts[PAPI_XML_DEPTH_MAX + 2];
    int depth;
    int text_depth;
    int opened;
    int stop_at;                /* the open number whose callback says stop, 0: never */
} record;

static void record_event(record *r, const char *kind, const char *s, apr_size_t len)
{
    r->events = apr_pstrcat(r->p, r->events, kind, apr_pstrmemdup(r->p, s, len), "\n", NULL);
}

/* papi_xml's text as UTF-8. */
static const char *utf8_of(apr_pool_t *p, const papi_xml_text *t)
{
    char *out = apr_palloc(p, t->len * 2 + 1), *o = out;
    apr_size_t i;

    if (t->wide)
        return apr_pstrmemdup(p, t->data, t->len);
    for (i = 0; i < t->len; i++) {
        unsigned char c = (unsigned char)t->data[i];
        if (c < 0x80)
            *o++ = (char)c;
        else {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *o = '\0';
    return out;
}

static const char *ours_open(void *ctx, const char *name, apr_size_t len,
                             const papi_xml_attr *attrs, int nattrs, int *want_text)
{
    record *r = ctx;
    int i;

    /* Names are ISO-8859-1 bytes too. */
    const char *n = utf8_of(r->p, &(papi_xml_text){ name, len, 0 });

    record_event(r, "<", n, strlen(n));
    for (i = 0; i < nattrs; i++) {
        const char *v = utf8_of(r->p, &attrs[i].value), *line;
        CHECK(attrs[i].value.data[attrs[i].value.len] == '\0');
        n = utf8_of(r->p, &(papi_xml_text){ attrs[i].name, attrs[i].name_len, 0 });
        line = apr_pstrcat(r->p, n, "=", v, NULL);
        record_event(r, "@", line, strlen(line));
    }
    *want_text = ++r->depth == r->text_depth;
    return ++r->opened == r->stop_at ? "stopped by the reader" : NULL;
}

static const char *ours_close(void *ctx, const papi_xml_text *text)
{
    record *r = ctx;
    const char *t;

    CHECK((text != NULL) == (r->depth-- == r->text_depth));
    if (!text) {
        record_event(r, ">", "-", 1);
        return NULL;
    }
    CHECK(text->data[text->len] == '\0' && memchr(text->data, '\0', text->len) == NULL);
    t = utf8_of(r->p, text);
    record_event(r, ">", t, strlen(t));
    return NULL;
}

/* ---- libxml2 ---------------------------------------------------------------------------------- */

/* An attribute's value as SAX2 gives it, where every '&' is written "&#38;" (for the tree it
 * would build): since a raw '&' cannot be in it, "&#38;" is always one. */
static const char *theirs_value(apr_pool_t *p, const xmlChar *start, const xmlChar *end)
{
    char *v = apr_pstrmemdup(p, (const char *)start, (apr_size_t)(end - start)), *amp, *o;

    for (o = amp = v; *amp; )
        if (!strncmp(amp, "&#38;", 5)) {
            *o++ = '&';
            amp += 5;
        }
        else
            *o++ = *amp++;
    *o = '\0';
    return v;
}

static void theirs_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                         const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                         int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    record *r = ((xmlParserCtxtPtr)ctx)->_private;
    const char *name = prefix ? apr_pstrcat(r->p, (const char *)prefix, ":",
                                            (const char *)localname, NULL)
                              : (const char *)localname;
    int i;

    record_event(r, "<", name, strlen(name));
    for (i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i;
        const char *an = a[1] ? apr_pstrcat(r->p, (const char *)a[1], ":", (const char *)a[0],
                                            NULL)
                              : (const char *)a[0];
        const char *line = apr_pstrcat(r->p, an, "=", theirs_value(r->p, a[3], a[4]), NULL);
        record_event(r, "@", line, strlen(line));
    }
    if (r->depth < PAPI_XML_DEPTH_MAX + 1)
        r->texts[++r->depth] = "";
}

static void theirs_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                       const xmlChar *uri)
{
    record *r = ((xmlParserCtxtPtr)ctx)->_private;

    if (r->depth > 0) {
        if (r->depth == r->text_depth)
            record_event(r, ">", r->texts[r->depth], strlen(r->texts[r->depth]));
        else
            record_event(r, ">", "-", 1);
        r->depth--;
    }
}

static void theirs_text(void *ctx, const xmlChar *ch, int len)
{
    record *r = ((xmlParserCtxtPtr)ctx)->_private;

    if (r->depth > 0)
        r->texts[r->depth] = apr_pstrcat(r->p, r->texts[r->depth],
                                         apr_pstrmemdup(r->p, (const char *)ch, (apr_size_t)len),
                                         NULL);
}

static void theirs_error(void *ctx, const xmlError *err)
{
    if (getenv("FUZZ_XML_SHOW") && err && err->message)
        fprintf(stderr, "libxml2 (level %d): %s", err->level, err->message);
}

/* Whether libxml2 finds the document well-formed, with what it told in r. */
static int theirs(const char *in, size_t size, record *r)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlSAXHandler *sax;
    xmlDocPtr doc;
    int ok;

    CHECK(ctxt != NULL);
    ctxt->_private = r;
    sax = ctxt->sax;
    memset(sax, 0, sizeof(*sax));
    sax->initialized = XML_SAX2_MAGIC;
    sax->serror = (xmlStructuredErrorFunc)theirs_error;
    sax->startElementNs = theirs_start;
    sax->endElementNs = theirs_end;
    sax->characters = theirs_text;
    sax->ignorableWhitespace = theirs_text;
    sax->cdataBlock = theirs_text;
    doc = xmlCtxtReadMemory(ctxt, in, (int)size, NULL, "ISO-8859-1",
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING
                            | XML_PARSE_IGNORE_ENC);
    if (doc)
        xmlFreeDoc(doc);
    ok = ctxt->wellFormed;
    xmlFreeParserCtxt(ctxt);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    papi_xml_reader reader = { NULL, ours_open, ours_close };
    record ours_rec = { 0 }, theirs_rec = { 0 };
    papi_xml_status status;
    apr_pool_t *p;
    const char *why;
    char *in;

    if (size > 65536)
        return 0;
    /* A copy of exactly the input's size, so ASan sees any read past it. */
    in = malloc(size ? size : 1);
    CHECK(in != NULL);
    memcpy(in, data, size);
    if (apr_pool_create(&p, root) != APR_SUCCESS)
        abort();
    ours_rec.p = theirs_rec.p = p;
    ours_rec.events = theirs_rec.events = "";
    /* The depth whose elements' text is compared: 1 to 4, from the input. */
    ours_rec.text_depth = theirs_rec.text_depth = size ? 1 + data[size / 2] % 4 : 1;
    /* One input in eight is stopped by its reader at some element. */
    ours_rec.stop_at = size && data[0] % 8 == 0 ? 1 + data[size - 1] % 4 : 0;
    reader.ctx = &ours_rec;
    status = papi_xml_read(p, in, size, &reader, &why);
    if (status == PAPI_XML_OK) {
        CHECK(why == NULL);
        CHECK(!memchr(in, '\0', size));
        CHECK(theirs(in, size, &theirs_rec));
        if (getenv("FUZZ_XML_SHOW"))
            fprintf(stderr, "ours:\n%s---\ntheirs:\n%s---\n", ours_rec.events, theirs_rec.events);
        CHECK(!strcmp(ours_rec.events, theirs_rec.events));
    }
    else if (status == PAPI_XML_STOPPED)
        CHECK(why && !strcmp(why, "stopped by the reader"));
    else if (status == PAPI_XML_MALFORMED)
        CHECK(why && *why);
    apr_pool_destroy(p);
    free(in);
    return 0;
}
