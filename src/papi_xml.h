/* papi_xml: a reader of the XML Passenger's core writes (pool.xml), strict and small: elements,
 * attributes, text, CDATA sections, comments, processing instructions, character references and
 * the five predefined entities; no namespaces (a name with a ':' and an xmlns attribute are
 * refused: Passenger writes neither). A document type declaration is refused before it is read, so no
 * entity is ever declared, loaded or expanded, and nothing but the document is ever read. No tree
 * is built: the caller is told of each element as it opens and as it closes, with its text when
 * it asked for it. Bytes are read as ISO-8859-1, as Passenger declares them (its writer makes
 * every byte outside [A-Za-z0-9/ _.:+-] a character reference anyway); the declaration's own
 * encoding is not obeyed, so no document can switch the decoder. Written for the module (libxml2
 * spent most of a 16,000-process scrape); the fuzz target holds it to libxml2: what this reader
 * accepts, libxml2 accepts too, with the same elements and text. */
#ifndef PAPI_XML_H
#define PAPI_XML_H

#include <apr_pools.h>

/* Elements open at once, at the most (libxml2's default limit too). */
#define PAPI_XML_DEPTH_MAX 256
/* Attributes of one element, at the most. */
#define PAPI_XML_ATTRS_MAX 32

/* Decoded text: one byte per character (ISO-8859-1) while every character is below U+0100,
 * else (wide) the characters in UTF-8. NUL-terminated at len; a NUL is never part of it. */
typedef struct papi_xml_text {
    const char *data;
    apr_size_t len;
    int wide;
} papi_xml_text;

typedef struct papi_xml_attr {
    const char *name;           /* as written, not NUL-terminated */
    apr_size_t name_len;
    papi_xml_text value;        /* references decoded, blanks made spaces as XML says */
} papi_xml_attr;

typedef struct papi_xml_reader {
    void *ctx;
    /* An element opens: its name as written, not NUL-terminated.
     * *want_text set to 1 asks for its own text (text and CDATA children, not its child
     * elements') at its close. NULL to go on, or why the reading stops. */
    const char *(*open)(void *ctx, const char *name, apr_size_t len, const papi_xml_attr *attrs,
                        int nattrs, int *want_text);
    /* The element closes: its text if it was asked for, else NULL. NULL or why to stop. */
    const char *(*close)(void *ctx, const papi_xml_text *text);
} papi_xml_reader;

typedef enum {
    PAPI_XML_OK,            /* read to its end */
    PAPI_XML_STOPPED,       /* a reader's callback gave why */
    PAPI_XML_MALFORMED,     /* not well-formed: why, with the line and column */
    PAPI_XML_DOCTYPE        /* it has a <!DOCTYPE>: refused there */
} papi_xml_status;

/* Reads xml[0..len) (which may hold any bytes) through r. *why: the reader's reason, or what is
 * wrong with the document, or NULL. */
papi_xml_status papi_xml_read(apr_pool_t *p, const char *xml, apr_size_t len,
                              const papi_xml_reader *r, const char **why);

#endif
