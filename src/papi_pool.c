#include "papi_pool.h"
#include "papi_chars.h"
#include "papi_utf8.h"

#include <apr_strings.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

/* Far beyond any real pool, yet a hostile core cannot make the model huge (the body itself is
 * already capped by PassengerApiLimitAnswer). A Ruby process has two sockets. */
#define PAPI_POOL_MAX_GROUPS 5000
#define PAPI_POOL_MAX_PROCESSES 5000
#define PAPI_POOL_MAX_SOCKETS (4 * PAPI_POOL_MAX_PROCESSES)
/* libxml2 builds its whole tree before the model is read: elements are counted as they come, so
 * a document of tiny elements (8 MiB of them) cannot cost hundreds of MB. A real element is ~40
 * per process (sockets included): the cap leaves room for the most processes the model takes. */
#define PAPI_POOL_MAX_ELEMENTS 250000

/* How much of libxml2's message, or of a document's element name, an error string quotes. */
#define PAPI_POOL_QUOTE_MAX 160

/* Passenger writes Latin-1 (every non-ASCII byte as a character reference anyway) and declared it
 * as "iso8859-1" before 6.0.5, a name not every parser knows: the encoding is forced and the
 * declaration ignored (XML_PARSE_IGNORE_ENC), so no declaration can switch the decoder. No
 * NOENT, DTDLOAD or HUGE: no entity is substituted or loaded, libxml2's size limits hold. */
#define PAPI_POOL_ENCODING "ISO-8859-1"
/* What Passenger writes is ASCII (the references are ASCII too), and ASCII reads the same as UTF-8,
 * which libxml2 takes as it is: decoding as Latin-1 cost more than the rest of the parse. */
#define PAPI_POOL_ASCII_ENCODING "UTF-8"
#define PAPI_POOL_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING \
                               | XML_PARSE_IGNORE_ENC)

/* libxml2 2.12 made the structured error handler's argument const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError papi_xml_error_t;
#else
typedef xmlError papi_xml_error_t;
#endif

/* One parse: what the libxml2 callbacks saw, and the running totals checked against the caps. */
typedef struct papi_pool_parser {
    apr_pool_t *p;
    int has_dtd;
    int elements;               /* seen so far while parsing */
    startElementNsSAX2Func start_element;   /* libxml2's own, which builds the tree */
    const char *xml_error;      /* libxml2's first fatal complaint, quoted */
    int groups;
    int processes;
    int sockets;
} papi_pool_parser;

void papi_pool_init(void)
{
    xmlInitParser();
}

/* ---- text ------------------------------------------------------------------------------------- */

/* Passenger wrote each byte of a string as its own character reference, which libxml2 read as one
 * Latin-1 character each: the bytes are put back together when they are UTF-8, else libxml2's
 * Latin-1 reading stands, as it does for text with characters beyond U+00FF (then the references
 * were not bytes). NULL when libxml2's own text is not UTF-8 (it always is). */
static const char *papi_decode_text(apr_pool_t *p, const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char *bytes;
    apr_size_t i, n = 0, step;
    apr_uint32_t cp, max = 0;

    for (i = 0; i < len; i += step) {
        if (!(step = papi_utf8_next(u + i, len - i, &cp)))
            return NULL;
        if (cp > max)
            max = cp;
    }
    if (max < 0x80 || max > 0xFF)
        return apr_pstrmemdup(p, s, len);
    bytes = apr_palloc(p, len + 1);
    for (i = 0; i < len; i += step) {
        step = papi_utf8_next(u + i, len - i, &cp);
        bytes[n++] = (unsigned char)cp;
    }
    bytes[n] = '\0';
    return papi_utf8_valid((const char *)bytes, n) ? (const char *)bytes : apr_pstrmemdup(p, s, len);
}

static int papi_is_text_node(const xmlNode *node)
{
    return (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) && node->content;
}

/* The text of a node's children, as libxml2 gives it: its text and CDATA children only, never
 * entity references (xmlNodeGetContent would expand them). Often libxml2's own memory, which is
 * freed with the document: callers copy what they keep. */
static const char *papi_raw_text(apr_pool_t *p, const xmlNode *first, apr_size_t *len)
{
    const xmlNode *node;
    const char *only = "";
    char *out, *at;
    apr_size_t total = 0;
    int pieces = 0;

    for (node = first; node; node = node->next)
        if (papi_is_text_node(node)) {
            only = (const char *)node->content;
            total += strlen(only);
            pieces++;
        }
    *len = total;
    if (pieces <= 1)
        return only;
    out = at = apr_palloc(p, total + 1);
    for (node = first; node; node = node->next)
        if (papi_is_text_node(node)) {
            apr_size_t n = strlen((const char *)node->content);
            memcpy(at, node->content, n);
            at += n;
        }
    *at = '\0';
    return out;
}

static int papi_is_xml_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* s[0..len) without the blanks around it. */
static const char *papi_trim(const char *s, apr_size_t len, apr_size_t *out_len)
{
    while (len && papi_is_xml_blank(*s)) {
        s++;
        len--;
    }
    while (len && papi_is_xml_blank(s[len - 1]))
        len--;
    *out_len = len;
    return s;
}

/* An integer as Passenger writes one: an optional '-' and digits, blanks around allowed. Anything
 * else, including an overflow, is PAPI_POOL_NONE. s is NUL-terminated at len. */
static apr_int64_t papi_number(const char *s, apr_size_t len)
{
    apr_size_t n, i;
    apr_int64_t value;
    char *end;

    s = papi_trim(s, len, &n);
    i = (n && s[0] == '-');
    if (i == n)
        return PAPI_POOL_NONE;
    for (; i < n; i++)
        if (!papi_is_digit(s[i]))
            return PAPI_POOL_NONE;
    errno = 0;
    value = apr_strtoi64(s, &end, 10);
    if (errno || end != s + n)
        return PAPI_POOL_NONE;
    return value;
}

/* true/false (has_metrics) or 1/0 (accept_http_requests): 1, 0, else -1. */
static int papi_flag(const char *s, apr_size_t len)
{
    apr_size_t n;

    s = papi_trim(s, len, &n);
    if ((n == 4 && !memcmp(s, "true", 4)) || (n == 1 && s[0] == '1'))
        return 1;
    if ((n == 5 && !memcmp(s, "false", 5)) || (n == 1 && s[0] == '0'))
        return 0;
    return -1;
}

/* Something from the document or from libxml2 fit for an error string: valid UTF-8, no control
 * characters, at most PAPI_POOL_QUOTE_MAX bytes (then "..."), no blanks at the ends. */
static const char *papi_quote(apr_pool_t *p, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t n = strlen(s), i = 0, o = 0, step;
    char *out = apr_palloc(p, PAPI_POOL_QUOTE_MAX + 4);
    apr_uint32_t cp;

    while (i < n && (u[i] == ' ' || u[i] < 0x20))
        i++;
    for (; i < n; i += step) {
        step = papi_utf8_next(u + i, n - i, &cp);
        if (o + (step ? step : 1) > PAPI_POOL_QUOTE_MAX) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (!step) {
            out[o++] = '?';
            step = 1;
        }
        else if (cp < 0x20 || cp == 0x7F)
            out[o++] = ' ';
        else {
            memcpy(out + o, s + i, step);
            o += step;
        }
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return out;
}

/* ---- libxml2 callbacks ------------------------------------------------------------------------ */

/* Every complaint comes here and none is printed: NOERROR only silences the plain channel, and a
 * structured handler another httpd module may have set globally would otherwise get them. */
static void papi_xml_error(void *ctx, papi_xml_error_t *err)
{
    xmlParserCtxtPtr ctxt = ctx;
    papi_pool_parser *ps = ctxt ? ctxt->_private : NULL;

    if (!ps || !err || err->level != XML_ERR_FATAL || ps->xml_error)
        return;
    if (err->message)
        ps->xml_error = apr_psprintf(ps->p, "%s (line %d, column %d)",
                                     papi_quote(ps->p, err->message), err->line, err->int2);
}

/* A <!DOCTYPE>: Passenger never writes one, and without it no entity can be declared, so stop
 * here, before its internal subset is even read. */
static void papi_xml_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                             const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = ctx;

    ((papi_pool_parser *)ctxt->_private)->has_dtd = 1;
    xmlStopParser(ctxt);
}

static void papi_xml_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    papi_pool_parser *ps = ctxt->_private;

    if (++ps->elements > PAPI_POOL_MAX_ELEMENTS) {
        xmlStopParser(ctxt);
        return;
    }
    ps->start_element(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                      nb_defaulted, attributes);
}

/* ---- the model -------------------------------------------------------------------------------- */

typedef enum {
    PAPI_FIELD_STRING,      /* const char *, NULL when missing */
    PAPI_FIELD_NUMBER,      /* apr_int64_t, PAPI_POOL_NONE when missing or not an integer */
    PAPI_FIELD_FLAG,        /* int: true/1 1, false/0 0, else -1 */
    PAPI_FIELD_PRESENT      /* int: 1 when the element is there (<spawning/>), else 0 */
} papi_field_kind;

/* A child element read into a struct member of the same name. */
typedef struct papi_field {
    const char *name;
    papi_field_kind kind;
    apr_size_t offset;
} papi_field;

#define PAPI_FIELD(type, member, kind) { #member, PAPI_FIELD_##kind, offsetof(type, member) }
#define PAPI_FIELD_COUNT(fields) ((int)(sizeof(fields) / sizeof(fields[0])))

static const papi_field papi_info_fields[] = {
    PAPI_FIELD(papi_pool, passenger_version, STRING),
    PAPI_FIELD(papi_pool, group_count, NUMBER),
    PAPI_FIELD(papi_pool, process_count, NUMBER),
    PAPI_FIELD(papi_pool, max, NUMBER),
    PAPI_FIELD(papi_pool, capacity_used, NUMBER),
    PAPI_FIELD(papi_pool, get_wait_list_size, NUMBER),
};

/* Not <options>: it always holds the API key. */
static const papi_field papi_group_fields[] = {
    PAPI_FIELD(papi_pool_group, name, STRING),
    PAPI_FIELD(papi_pool_group, component_name, STRING),
    PAPI_FIELD(papi_pool_group, app_root, STRING),
    PAPI_FIELD(papi_pool_group, app_type, STRING),
    PAPI_FIELD(papi_pool_group, environment, STRING),
    PAPI_FIELD(papi_pool_group, uuid, STRING),
    PAPI_FIELD(papi_pool_group, life_status, STRING),
    PAPI_FIELD(papi_pool_group, user, STRING),
    PAPI_FIELD(papi_pool_group, group, STRING),
    PAPI_FIELD(papi_pool_group, uid, NUMBER),
    PAPI_FIELD(papi_pool_group, gid, NUMBER),
    PAPI_FIELD(papi_pool_group, enabled_process_count, NUMBER),
    PAPI_FIELD(papi_pool_group, disabling_process_count, NUMBER),
    PAPI_FIELD(papi_pool_group, disabled_process_count, NUMBER),
    PAPI_FIELD(papi_pool_group, capacity_used, NUMBER),
    PAPI_FIELD(papi_pool_group, get_wait_list_size, NUMBER),
    PAPI_FIELD(papi_pool_group, disable_wait_list_size, NUMBER),
    PAPI_FIELD(papi_pool_group, processes_being_spawned, NUMBER),
    PAPI_FIELD(papi_pool_group, spawning, PRESENT),
    PAPI_FIELD(papi_pool_group, restarting, PRESENT),
    PAPI_FIELD(papi_pool_group, api_key, STRING),
};

static const papi_field papi_process_fields[] = {
    PAPI_FIELD(papi_pool_process, pid, NUMBER),
    PAPI_FIELD(papi_pool_process, concurrency, NUMBER),
    PAPI_FIELD(papi_pool_process, sessions, NUMBER),
    PAPI_FIELD(papi_pool_process, busyness, NUMBER),
    PAPI_FIELD(papi_pool_process, processed, NUMBER),
    PAPI_FIELD(papi_pool_process, spawner_creation_time, NUMBER),
    PAPI_FIELD(papi_pool_process, spawn_start_time, NUMBER),
    PAPI_FIELD(papi_pool_process, spawn_end_time, NUMBER),
    PAPI_FIELD(papi_pool_process, last_used, NUMBER),
    PAPI_FIELD(papi_pool_process, cpu, NUMBER),
    PAPI_FIELD(papi_pool_process, rss, NUMBER),
    PAPI_FIELD(papi_pool_process, pss, NUMBER),
    PAPI_FIELD(papi_pool_process, private_dirty, NUMBER),
    PAPI_FIELD(papi_pool_process, swap, NUMBER),
    PAPI_FIELD(papi_pool_process, real_memory, NUMBER),
    PAPI_FIELD(papi_pool_process, vmsize, NUMBER),
    PAPI_FIELD(papi_pool_process, process_group_id, NUMBER),
    PAPI_FIELD(papi_pool_process, has_metrics, FLAG),
    PAPI_FIELD(papi_pool_process, gupid, STRING),
    PAPI_FIELD(papi_pool_process, life_status, STRING),
    PAPI_FIELD(papi_pool_process, enabled, STRING),
    PAPI_FIELD(papi_pool_process, code_revision, STRING),
    PAPI_FIELD(papi_pool_process, command, STRING),
};

static const papi_field papi_socket_fields[] = {
    PAPI_FIELD(papi_pool_socket, address, STRING),
    PAPI_FIELD(papi_pool_socket, protocol, STRING),
    PAPI_FIELD(papi_pool_socket, description, STRING),
    PAPI_FIELD(papi_pool_socket, concurrency, NUMBER),
    PAPI_FIELD(papi_pool_socket, sessions, NUMBER),
    PAPI_FIELD(papi_pool_socket, accept_http_requests, FLAG),
};

/* papi_read_fields marks the fields it has seen in one 64-bit word. */
_Static_assert(sizeof(papi_process_fields) / sizeof(papi_field) <= 64, "too many fields");
_Static_assert(sizeof(papi_group_fields) / sizeof(papi_field) <= 64, "too many fields");

static int papi_is_element(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && !strcmp((const char *)node->name, name);
}

/* The first element named name at or after node, among its siblings. */
static const xmlNode *papi_element(const xmlNode *node, const char *name)
{
    for (; node; node = node->next)
        if (papi_is_element(node, name))
            return node;
    return NULL;
}

static void papi_field_clear(const papi_field *f, void *obj)
{
    void *at = (char *)obj + f->offset;

    switch (f->kind) {
    case PAPI_FIELD_STRING:
        *(const char **)at = NULL;
        break;
    case PAPI_FIELD_NUMBER:
        *(apr_int64_t *)at = PAPI_POOL_NONE;
        break;
    case PAPI_FIELD_FLAG:
        *(int *)at = -1;
        break;
    case PAPI_FIELD_PRESENT:
        *(int *)at = 0;
        break;
    }
}

static const char *papi_field_set(papi_pool_parser *ps, const papi_field *f, const xmlNode *el,
                                  void *obj)
{
    void *at = (char *)obj + f->offset;
    apr_size_t len;
    const char *text = papi_raw_text(ps->p, el->children, &len);

    switch (f->kind) {
    case PAPI_FIELD_STRING:
        if (!(*(const char **)at = papi_decode_text(ps->p, text, len)))
            return apr_psprintf(ps->p, "pool.xml's <%s> is not UTF-8 once parsed", f->name);
        break;
    case PAPI_FIELD_NUMBER:
        *(apr_int64_t *)at = papi_number(text, len);
        break;
    case PAPI_FIELD_FLAG:
        *(int *)at = papi_flag(text, len);
        break;
    case PAPI_FIELD_PRESENT:
        *(int *)at = 1;
        break;
    }
    return NULL;
}

/* The fields among node's child elements. The first of a name counts, as in Passenger's own Ruby
 * tools (REXML's elements['pid']); unknown elements are for later versions. */
static const char *papi_read_fields(papi_pool_parser *ps, const xmlNode *node,
                                    const papi_field *fields, int count, void *obj)
{
    const xmlNode *child;
    apr_uint64_t seen = 0;
    const char *why;
    int i;

    for (i = 0; i < count; i++)
        papi_field_clear(&fields[i], obj);
    for (child = node->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE)
            continue;
        for (i = 0; i < count && strcmp((const char *)child->name, fields[i].name); i++)
            ;
        if (i == count || (seen & ((apr_uint64_t)1 << i)))
            continue;
        seen |= (apr_uint64_t)1 << i;
        if ((why = papi_field_set(ps, &fields[i], child, obj)) != NULL)
            return why;
    }
    return NULL;
}

/* Reads one item element and pushes what it gives onto out. */
typedef const char *(*papi_item_reader)(papi_pool_parser *ps, const xmlNode *item,
                                        apr_array_header_t *out);

/* Every <item> in every <list> child of parent (<processes><process/>...</processes>). */
static const char *papi_read_list(papi_pool_parser *ps, const xmlNode *parent, const char *list,
                                  const char *item, papi_item_reader reader, apr_array_header_t *out)
{
    const xmlNode *l, *i;
    const char *why;

    for (l = papi_element(parent->children, list); l; l = papi_element(l->next, list))
        for (i = papi_element(l->children, item); i; i = papi_element(i->next, item))
            if ((why = reader(ps, i, out)) != NULL)
                return why;
    return NULL;
}

static const char *papi_read_socket(papi_pool_parser *ps, const xmlNode *node,
                                    apr_array_header_t *out)
{
    papi_pool_socket *sock;
    const char *why;

    if (++ps->sockets > PAPI_POOL_MAX_SOCKETS)
        return apr_psprintf(ps->p, "pool.xml lists more than %d sockets", PAPI_POOL_MAX_SOCKETS);
    sock = apr_pcalloc(ps->p, sizeof(*sock));
    if ((why = papi_read_fields(ps, node, papi_socket_fields, PAPI_FIELD_COUNT(papi_socket_fields),
                                sock)) != NULL)
        return why;
    APR_ARRAY_PUSH(out, papi_pool_socket *) = sock;
    return NULL;
}

static const char *papi_read_process(papi_pool_parser *ps, const xmlNode *node,
                                     apr_array_header_t *out)
{
    papi_pool_process *proc;
    const char *why;

    if (++ps->processes > PAPI_POOL_MAX_PROCESSES)
        return apr_psprintf(ps->p, "pool.xml lists more than %d processes",
                            PAPI_POOL_MAX_PROCESSES);
    proc = apr_pcalloc(ps->p, sizeof(*proc));
    proc->sockets = apr_array_make(ps->p, 2, sizeof(papi_pool_socket *));
    if ((why = papi_read_fields(ps, node, papi_process_fields,
                                PAPI_FIELD_COUNT(papi_process_fields), proc)) != NULL
        || (why = papi_read_list(ps, node, "sockets", "socket", papi_read_socket,
                                 proc->sockets)) != NULL)
        return why;
    APR_ARRAY_PUSH(out, papi_pool_process *) = proc;
    return NULL;
}

/* default="true", read as the text of the attribute's own children (no entity expansion). */
static int papi_is_default(apr_pool_t *p, const xmlNode *node)
{
    const xmlAttr *a;
    apr_size_t len;

    for (a = node->properties; a; a = a->next)
        if (!strcmp((const char *)a->name, "default"))
            return !strcmp(papi_raw_text(p, a->children, &len), "true");
    return 0;
}

static const char *papi_read_group(papi_pool_parser *ps, const xmlNode *node,
                                   apr_array_header_t *out)
{
    papi_pool_group *group;
    const char *why;

    if (++ps->groups > PAPI_POOL_MAX_GROUPS)
        return apr_psprintf(ps->p, "pool.xml lists more than %d groups", PAPI_POOL_MAX_GROUPS);
    group = apr_pcalloc(ps->p, sizeof(*group));
    group->processes = apr_array_make(ps->p, 4, sizeof(papi_pool_process *));
    if ((why = papi_read_fields(ps, node, papi_group_fields, PAPI_FIELD_COUNT(papi_group_fields),
                                group)) != NULL
        || (why = papi_read_list(ps, node, "processes", "process", papi_read_process,
                                 group->processes)) != NULL)
        return why;
    group->is_default = papi_is_default(ps->p, node);
    APR_ARRAY_PUSH(out, papi_pool_group *) = group;
    return NULL;
}

/* A supergroup's groups go straight into the pool's list: the views show groups only. */
static const char *papi_read_supergroup(papi_pool_parser *ps, const xmlNode *node,
                                        apr_array_header_t *out)
{
    const xmlNode *g;
    const char *why;

    for (g = papi_element(node->children, "group"); g; g = papi_element(g->next, "group"))
        if ((why = papi_read_group(ps, g, out)) != NULL)
            return why;
    return NULL;
}

static const char *papi_read_info(papi_pool_parser *ps, const xmlNode *root, papi_pool **out)
{
    papi_pool *pool = apr_pcalloc(ps->p, sizeof(*pool));
    const char *why;

    if (strcmp((const char *)root->name, "info"))
        return apr_psprintf(ps->p, "pool.xml's root element is <%s>, not <info>",
                            papi_quote(ps->p, (const char *)root->name));
    pool->groups = apr_array_make(ps->p, 4, sizeof(papi_pool_group *));
    if ((why = papi_read_fields(ps, root, papi_info_fields, PAPI_FIELD_COUNT(papi_info_fields),
                                pool)) != NULL
        || (why = papi_read_list(ps, root, "supergroups", "supergroup", papi_read_supergroup,
                                 pool->groups)) != NULL)
        return why;
    *out = pool;
    return NULL;
}

/* ---- the document ----------------------------------------------------------------------------- */

/* Why libxml2's result is not a document to read, or NULL. */
static const char *papi_doc_error(papi_pool_parser *ps, xmlDocPtr doc)
{
    if (ps->elements > PAPI_POOL_MAX_ELEMENTS)
        return apr_psprintf(ps->p, "pool.xml has more than %d elements: refused",
                            PAPI_POOL_MAX_ELEMENTS);
    if (ps->has_dtd || (doc && (doc->intSubset || doc->extSubset)))
        return "pool.xml has a document type declaration (<!DOCTYPE>), which Passenger never "
               "writes: refused, so that no entity is ever declared or loaded";
    if (!doc)
        return ps->xml_error ? apr_pstrcat(ps->p, "pool.xml is not well-formed XML: ",
                                           ps->xml_error, NULL)
                             : "pool.xml is not well-formed XML";
    if (!xmlDocGetRootElement(doc))
        return "pool.xml has no root element";
    return NULL;
}

static int papi_is_ascii(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char any = 0;
    apr_size_t i;

    for (i = 0; i < len; i++)
        any |= u[i];
    return any < 0x80;
}

const char *papi_pool_parse(apr_pool_t *p, const char *xml, apr_size_t len, papi_pool **pool)
{
    papi_pool_parser ps;
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc;
    const char *why, *nul;

    *pool = NULL;
    if (!len)
        return "pool.xml is empty";
    if (len > INT_MAX)
        return "pool.xml is too large for libxml2";
    /* libxml2 takes a NUL after the root element for the end of the input and ignores the rest:
     * refused outright, so nothing is ever cut short silently. */
    if ((nul = memchr(xml, '\0', len)) != NULL)
        return apr_psprintf(p, "pool.xml has a NUL byte at offset %" APR_SIZE_T_FMT,
                            (apr_size_t)(nul - xml));
    /* A context of our own per call: its callbacks and state are this thread's alone. */
    if (!(ctxt = xmlNewParserCtxt()))
        return "cannot allocate an XML parser";
    memset(&ps, 0, sizeof(ps));
    ps.p = p;
    ctxt->_private = &ps;
    ctxt->sax->serror = papi_xml_error;
    ctxt->sax->internalSubset = papi_xml_doctype;
    ps.start_element = ctxt->sax->startElementNs;
    ctxt->sax->startElementNs = papi_xml_element;
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL,
                            papi_is_ascii(xml, len) ? PAPI_POOL_ASCII_ENCODING : PAPI_POOL_ENCODING,
                            PAPI_POOL_XML_OPTIONS);
    why = papi_doc_error(&ps, doc);
    if (!why)
        why = papi_read_info(&ps, xmlDocGetRootElement(doc), pool);
    /* Everything kept was copied into p. */
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    if (why)
        *pool = NULL;
    return why;
}
