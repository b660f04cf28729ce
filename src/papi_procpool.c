#include "papi_procpool.h"
#include "papi_chars.h"
#include "papi_utf8.h"

#include <apr_strings.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

/* Far beyond any real pool, yet a hostile core cannot make the model huge (the body itself is
 * already capped by PassengerApiLimitAnswer). A Ruby process has two sockets. */
#define PAPI_PROCPOOL_MAX_GROUPS 5000
#define PAPI_PROCPOOL_MAX_PROCESSES 5000
#define PAPI_PROCPOOL_MAX_SOCKETS (4 * PAPI_PROCPOOL_MAX_PROCESSES)
/* Elements are counted as they come, so a document of tiny elements (8 MiB of them) is refused
 * early. A real element is ~40 per process (sockets included): the cap leaves room for the most
 * processes the model takes. */
#define PAPI_PROCPOOL_MAX_ELEMENTS 250000

/* How much of libxml2's message, or of a document's element name, an error string quotes. */
#define PAPI_PROCPOOL_QUOTE_MAX 160

/* Passenger writes Latin-1 (every non-ASCII byte as a character reference anyway) and declared it
 * as "iso8859-1" before 6.0.5, a name not every parser knows: the encoding is forced and the
 * declaration ignored (XML_PARSE_IGNORE_ENC), so no declaration can switch the decoder. No
 * NOENT, DTDLOAD or HUGE: no entity is substituted or loaded, libxml2's size limits hold. */
#define PAPI_PROCPOOL_ENCODING "ISO-8859-1"
/* What Passenger writes is ASCII (the references are ASCII too), and ASCII reads the same as UTF-8,
 * which libxml2 takes as it is: decoding as Latin-1 cost more than the rest of the parse. */
#define PAPI_PROCPOOL_ASCII_ENCODING "UTF-8"
#define PAPI_PROCPOOL_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING \
                                   | XML_PARSE_IGNORE_ENC)

/* libxml2 2.12 made the structured error handler's argument const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError papi_xml_error_t;
#else
typedef xmlError papi_xml_error_t;
#endif

/* Room for a field's text to begin with: most are numbers, none of a real pool is longer. */
#define PAPI_PROCPOOL_TEXT_START 4096

/* The elements whose children are read, each a child of the one before: <info>, <supergroups>,
 * <supergroup>, <group>, <processes>, <process>, <sockets>, <socket>. */
typedef enum {
    PAPI_IN_INFO,
    PAPI_IN_SUPERGROUPS,
    PAPI_IN_SUPERGROUP,
    PAPI_IN_GROUP,
    PAPI_IN_PROCESSES,
    PAPI_IN_PROCESS,
    PAPI_IN_SOCKETS,
    PAPI_IN_SOCKET,
    PAPI_IN_COUNT
} papi_container;

typedef struct papi_field papi_field;

/* Interned element names remembered per parse, in a table of twice as many slots (Passenger's
 * containers have about 60 fields). */
#define PAPI_NAMES_KEPT 96
#define PAPI_NAME_SLOTS 256

/* An open container element. */
typedef struct papi_frame {
    papi_container what;
    int depth;                  /* the element's own (the root's is 1) */
    const papi_field *fields;   /* read from its child elements; NULL for a list */
    int count;
    void *obj;                  /* the struct they go into */
    apr_uint64_t seen;          /* fields already read: the first of a name counts */
} papi_frame;

/* One parse, read as libxml2 goes (no tree is built): the model so far, where the parser is in
 * it, and the running totals checked against the caps. */
typedef struct papi_procpool_parser {
    apr_pool_t *p;
    int has_dtd;
    int elements;               /* seen so far */
    const char *xml_error;      /* libxml2's first fatal complaint, quoted */
    const char *why;            /* the model's objection, which stopped the parse */
    int groups;
    int processes;
    int sockets;
    papi_procpool *procpool;    /* made when the root element opens */
    int depth;                  /* of the element open now */
    papi_frame frames[PAPI_IN_COUNT];
    int nframes;
    const papi_field *field;    /* the field whose text is being read, or NULL */
    void *field_obj;
    int field_depth;
    char *text;                 /* its text so far (its own text and CDATA children only) */
    apr_size_t text_len;
    apr_size_t text_size;
    /* Element names as libxml2 interned them (one pointer per name for the whole parse), with
     * the field of a container each one is: 16,000 processes' fields found without a strcmp. */
    struct {
        const char *name;
        papi_container what;
        int index;
    } names[PAPI_NAME_SLOTS];
    int nnames;
} papi_procpool_parser;

void papi_procpool_init(void)
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
 * else, including an overflow, is PAPI_PROCPOOL_NONE. s is NUL-terminated at len. */
static apr_int64_t papi_number(const char *s, apr_size_t len)
{
    apr_size_t n, i;
    int negative;
    apr_uint64_t u = 0, limit;

    s = papi_trim(s, len, &n);
    negative = n && s[0] == '-';
    if ((apr_size_t)negative == n)
        return PAPI_PROCPOOL_NONE;
    /* By hand, not strtoll: a pool of 16,000 processes has some 300,000 numbers. */
    limit = negative ? (apr_uint64_t)APR_INT64_MAX + 1 : (apr_uint64_t)APR_INT64_MAX;
    for (i = negative; i < n; i++) {
        unsigned digit = (unsigned char)s[i] - '0';
        if (!papi_is_digit(s[i]) || u > (limit - digit) / 10)
            return PAPI_PROCPOOL_NONE;
        u = u * 10 + digit;
    }
    /* -2^63 is PAPI_PROCPOOL_NONE itself. */
    return negative ? (apr_int64_t)(0 - u) : (apr_int64_t)u;
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
 * characters, at most PAPI_PROCPOOL_QUOTE_MAX bytes (then "..."), no blanks at the ends. */
static const char *papi_quote(apr_pool_t *p, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t n = strlen(s), i = 0, o = 0, step;
    char *out = apr_palloc(p, PAPI_PROCPOOL_QUOTE_MAX + 4);
    apr_uint32_t cp;

    while (i < n && (u[i] == ' ' || u[i] < 0x20))
        i++;
    for (; i < n; i += step) {
        step = papi_utf8_next(u + i, n - i, &cp);
        if (o + (step ? step : 1) > PAPI_PROCPOOL_QUOTE_MAX) {
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
    papi_procpool_parser *ps = ctxt ? ctxt->_private : NULL;

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

    ((papi_procpool_parser *)ctxt->_private)->has_dtd = 1;
    xmlStopParser(ctxt);
}

/* ---- the model -------------------------------------------------------------------------------- */

typedef enum {
    PAPI_FIELD_STRING,      /* const char *, NULL when missing */
    PAPI_FIELD_NUMBER,      /* apr_int64_t, PAPI_PROCPOOL_NONE when missing or not an integer */
    PAPI_FIELD_FLAG,        /* int: true/1 1, false/0 0, else -1 */
    PAPI_FIELD_PRESENT      /* int: 1 when the element is there (<spawning/>), else 0 */
} papi_field_kind;

/* A child element read into a struct member of the same name. */
struct papi_field {
    const char *name;
    papi_field_kind kind;
    apr_size_t offset;
};

#define PAPI_FIELD(type, member, kind) { #member, PAPI_FIELD_##kind, offsetof(type, member) },
#define PAPI_FIELD_COUNT(fields) ((int)(sizeof(fields) / sizeof(fields[0])))

/* The tables are made from papi_procpool.h's lists: a SECRET is read as a STRING, a DERIVED name
 * is not a child element. */
#define PAPI_READ_STRING(type, member) PAPI_FIELD(type, member, STRING)
#define PAPI_READ_SECRET(type, member) PAPI_FIELD(type, member, STRING)
#define PAPI_READ_NUMBER(type, member) PAPI_FIELD(type, member, NUMBER)
#define PAPI_READ_FLAG(type, member) PAPI_FIELD(type, member, FLAG)
#define PAPI_READ_PRESENT(type, member) PAPI_FIELD(type, member, PRESENT)
#define PAPI_READ_DERIVED(type, member)

#define PAPI_READ_INFO(member, kind) PAPI_READ_##kind(papi_procpool, member)
#define PAPI_READ_GROUP(member, kind) PAPI_READ_##kind(papi_procpool_group, member)
#define PAPI_READ_PROCESS(member, kind) PAPI_READ_##kind(papi_procpool_process, member)
#define PAPI_READ_SOCKET(member, kind) PAPI_READ_##kind(papi_procpool_socket, member)

static const papi_field papi_info_fields[] = { PAPI_PROCPOOL_INFO_FIELDS(PAPI_READ_INFO) };
/* Not <options>: it always holds the API key. */
static const papi_field papi_group_fields[] = { PAPI_PROCPOOL_GROUP_FIELDS(PAPI_READ_GROUP) };
static const papi_field papi_process_fields[] = { PAPI_PROCPOOL_PROCESS_FIELDS(PAPI_READ_PROCESS) };
static const papi_field papi_socket_fields[] = { PAPI_PROCPOOL_SOCKET_FIELDS(PAPI_READ_SOCKET) };

/* papi_read_fields marks the fields it has seen in one 64-bit word. */
_Static_assert(sizeof(papi_process_fields) / sizeof(papi_field) <= 64, "too many fields");
_Static_assert(sizeof(papi_group_fields) / sizeof(papi_field) <= 64, "too many fields");

/* The field's text, read into obj (text is NUL-terminated at len); text NULL: the field "not
 * given", as when pool.xml has no such element. */
static const char *papi_field_set(apr_pool_t *p, const papi_field *f, const char *text,
                                  apr_size_t len, void *obj)
{
    void *at = (char *)obj + f->offset;

    switch (f->kind) {
    case PAPI_FIELD_STRING:
        if (!text)
            *(const char **)at = NULL;
        else if (!(*(const char **)at = papi_decode_text(p, text, len)))
            return apr_psprintf(p, "pool.xml's <%s> is not UTF-8 once parsed", f->name);
        break;
    case PAPI_FIELD_NUMBER:
        *(apr_int64_t *)at = text ? papi_number(text, len) : PAPI_PROCPOOL_NONE;
        break;
    case PAPI_FIELD_FLAG:
        *(int *)at = text ? papi_flag(text, len) : -1;
        break;
    case PAPI_FIELD_PRESENT:
        *(int *)at = text != NULL;
        break;
    }
    return NULL;
}

/* A new object of size bytes with every field of the table "not given". */
static void *papi_new(apr_pool_t *p, apr_size_t size, const papi_field *fields, int count)
{
    void *obj = apr_pcalloc(p, size);
    int i;

    for (i = 0; i < count; i++)
        papi_field_set(p, &fields[i], NULL, 0, obj);
    return obj;
}

#define PAPI_NEW(p, type, fields) \
    ((type *)papi_new(p, sizeof(type), fields, PAPI_FIELD_COUNT(fields)))

papi_procpool *papi_procpool_new(apr_pool_t *p)
{
    papi_procpool *procpool = PAPI_NEW(p, papi_procpool, papi_info_fields);

    procpool->groups = apr_array_make(p, 4, sizeof(papi_procpool_group *));
    return procpool;
}

papi_procpool_group *papi_procpool_group_new(apr_pool_t *p)
{
    papi_procpool_group *group = PAPI_NEW(p, papi_procpool_group, papi_group_fields);

    group->processes = apr_array_make(p, 4, sizeof(papi_procpool_process *));
    return group;
}

papi_procpool_process *papi_procpool_process_new(apr_pool_t *p)
{
    papi_procpool_process *proc = PAPI_NEW(p, papi_procpool_process, papi_process_fields);

    proc->sockets = apr_array_make(p, 2, sizeof(papi_procpool_socket *));
    return proc;
}

papi_procpool_socket *papi_procpool_socket_new(apr_pool_t *p)
{
    return PAPI_NEW(p, papi_procpool_socket, papi_socket_fields);
}

/* ---- reading as libxml2 goes ------------------------------------------------------------------ */

/* Opens a container at the current depth (obj: new, its fields "not given"). */
static void papi_open(papi_procpool_parser *ps, papi_container what, const papi_field *fields,
                      int count, void *obj)
{
    papi_frame *f = &ps->frames[ps->nframes++];

    f->what = what;
    f->depth = ps->depth;
    f->fields = fields;
    f->count = count;
    f->obj = obj;
    f->seen = 0;
}

static const char *papi_open_info(papi_procpool_parser *ps, const char *name)
{
    if (strcmp(name, "info"))
        return apr_psprintf(ps->p, "pool.xml's root element is <%s>, not <info>",
                            papi_quote(ps->p, name));
    ps->procpool = papi_procpool_new(ps->p);
    papi_open(ps, PAPI_IN_INFO, papi_info_fields, PAPI_FIELD_COUNT(papi_info_fields), ps->procpool);
    return NULL;
}

/* default="true" (SAX2 gives each attribute as name, prefix, URI, value, end of value). */
static int papi_is_default(int nb_attributes, const xmlChar **attributes)
{
    int i;

    for (i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i;
        if (!strcmp((const char *)a[0], "default"))
            return a[4] - a[3] == 4 && !memcmp(a[3], "true", 4);
    }
    return 0;
}

/* A group, process or socket opens: it joins its parent's list at once (any objection later
 * throws the whole model away). */
static const char *papi_open_group(papi_procpool_parser *ps, int nb_attributes,
                                   const xmlChar **attributes)
{
    papi_procpool_group *group;

    if (++ps->groups > PAPI_PROCPOOL_MAX_GROUPS)
        return apr_psprintf(ps->p, "pool.xml lists more than %d groups", PAPI_PROCPOOL_MAX_GROUPS);
    group = papi_procpool_group_new(ps->p);
    APR_ARRAY_PUSH(ps->procpool->groups, papi_procpool_group *) = group;
    papi_open(ps, PAPI_IN_GROUP, papi_group_fields, PAPI_FIELD_COUNT(papi_group_fields), group);
    group->is_default = papi_is_default(nb_attributes, attributes);
    return NULL;
}

static const char *papi_open_process(papi_procpool_parser *ps, papi_procpool_group *group)
{
    papi_procpool_process *proc;

    if (++ps->processes > PAPI_PROCPOOL_MAX_PROCESSES)
        return apr_psprintf(ps->p, "pool.xml lists more than %d processes",
                            PAPI_PROCPOOL_MAX_PROCESSES);
    proc = papi_procpool_process_new(ps->p);
    APR_ARRAY_PUSH(group->processes, papi_procpool_process *) = proc;
    papi_open(ps, PAPI_IN_PROCESS, papi_process_fields, PAPI_FIELD_COUNT(papi_process_fields),
              proc);
    return NULL;
}

static const char *papi_open_socket(papi_procpool_parser *ps, papi_procpool_process *proc)
{
    papi_procpool_socket *sock;

    if (++ps->sockets > PAPI_PROCPOOL_MAX_SOCKETS)
        return apr_psprintf(ps->p, "pool.xml lists more than %d sockets", PAPI_PROCPOOL_MAX_SOCKETS);
    sock = papi_procpool_socket_new(ps->p);
    APR_ARRAY_PUSH(proc->sockets, papi_procpool_socket *) = sock;
    papi_open(ps, PAPI_IN_SOCKET, papi_socket_fields, PAPI_FIELD_COUNT(papi_socket_fields), sock);
    return NULL;
}

/* The index of the field name of top's container, top->count for none: from the names met
 * before when name is interned (its pointer is the name), else by comparing. */
static int papi_field_index(papi_procpool_parser *ps, const papi_frame *top, const char *name,
                            int interned)
{
    unsigned slot = (unsigned)(((uintptr_t)name >> 3) * 31 + top->what) % PAPI_NAME_SLOTS;
    int i;

    /* Open addressing: the table is never more than half full, so an empty slot ends a probe. */
    while (interned && ps->names[slot].name) {
        if (ps->names[slot].name == name && ps->names[slot].what == top->what)
            return ps->names[slot].index;
        slot = (slot + 1) % PAPI_NAME_SLOTS;
    }
    for (i = 0; i < top->count && strcmp(name, top->fields[i].name); i++)
        ;
    if (interned && ps->nnames < PAPI_NAMES_KEPT) {
        ps->nnames++;
        ps->names[slot].name = name;
        ps->names[slot].what = top->what;
        ps->names[slot].index = i;
    }
    return i;
}

/* A field of the container opens: the first of a name is read, unknown ones are for later
 * versions of Passenger. */
static void papi_open_field(papi_procpool_parser *ps, papi_frame *top, const char *name,
                            int interned)
{
    int i = papi_field_index(ps, top, name, interned);

    if (i == top->count || (top->seen & ((apr_uint64_t)1 << i)))
        return;
    top->seen |= (apr_uint64_t)1 << i;
    if (top->fields[i].kind == PAPI_FIELD_PRESENT) {    /* its text does not count */
        papi_field_set(ps->p, &top->fields[i], "", 0, top->obj);
        return;
    }
    ps->field = &top->fields[i];
    ps->field_obj = top->obj;
    ps->field_depth = ps->depth;
    ps->text_len = 0;
}

/* A child element of the container top: a list, an item of a list, or a field. The lists of a
 * container are its children named so (every <processes> of a group, every <process> in each),
 * never elements further down. */
static const char *papi_open_child(papi_procpool_parser *ps, papi_frame *top, const char *name,
                                   int interned, int nb_attributes, const xmlChar **attributes)
{
    static const char *const lists[PAPI_IN_COUNT] = {
        [PAPI_IN_INFO] = "supergroups", [PAPI_IN_SUPERGROUPS] = "supergroup",
        [PAPI_IN_SUPERGROUP] = "group", [PAPI_IN_GROUP] = "processes",
        [PAPI_IN_PROCESSES] = "process", [PAPI_IN_PROCESS] = "sockets",
        [PAPI_IN_SOCKETS] = "socket",
    };

    if (!lists[top->what] || strcmp(name, lists[top->what])) {
        if (top->fields)
            papi_open_field(ps, top, name, interned);
        return NULL;
    }
    switch (top->what) {
    case PAPI_IN_SUPERGROUP:
        return papi_open_group(ps, nb_attributes, attributes);
    case PAPI_IN_PROCESSES:
        return papi_open_process(ps, top[-1].obj);
    case PAPI_IN_SOCKETS:
        return papi_open_socket(ps, top[-1].obj);
    default:    /* a list: the container named after what holds it */
        papi_open(ps, (papi_container)(top->what + 1), NULL, 0, NULL);
        return NULL;
    }
}

static void papi_sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                           int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    papi_procpool_parser *ps = ctxt->_private;
    const char *name = (const char *)localname, *why = NULL;
    papi_frame *top;
    int interned;

    if (++ps->elements > PAPI_PROCPOOL_MAX_ELEMENTS) {
        xmlStopParser(ctxt);
        return;
    }
    /* A prefix bound to no namespace stays part of the name (<x:info> is not <info>). */
    if (prefix && !uri)
        name = apr_pstrcat(ps->p, (const char *)prefix, ":", name, NULL);
    interned = name == (const char *)localname && ctxt->dict
               && xmlDictOwns(ctxt->dict, localname) == 1;
    ps->depth++;
    if (ps->depth == 1)
        why = papi_open_info(ps, name);
    else if (!ps->field && ps->nframes > 0
             && (top = &ps->frames[ps->nframes - 1])->depth == ps->depth - 1)
        why = papi_open_child(ps, top, name, interned, nb_attributes, attributes);
    if (why) {
        ps->why = why;
        xmlStopParser(ctxt);
    }
}

static void papi_sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                         const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    papi_procpool_parser *ps = ctxt->_private;
    const char *why;

    if (ps->field && ps->depth == ps->field_depth) {
        ps->text[ps->text_len] = '\0';
        why = papi_field_set(ps->p, ps->field, ps->text, ps->text_len, ps->field_obj);
        ps->field = NULL;
        if (why) {
            ps->why = why;
            xmlStopParser(ctxt);
        }
    }
    else if (ps->nframes > 0 && ps->frames[ps->nframes - 1].depth == ps->depth)
        ps->nframes--;
    ps->depth--;
}

/* Text and CDATA: kept when they are the field's own children. */
static void papi_sax_text(void *ctx, const xmlChar *ch, int len)
{
    xmlParserCtxtPtr ctxt = ctx;
    papi_procpool_parser *ps = ctxt->_private;

    if (!ps->field || ps->depth != ps->field_depth || len <= 0)
        return;
    if (ps->text_len + (apr_size_t)len + 1 > ps->text_size) {
        apr_size_t size = (ps->text_len + (apr_size_t)len + 1) * 2;
        char *bigger = apr_palloc(ps->p, size);
        memcpy(bigger, ps->text, ps->text_len);
        ps->text = bigger;
        ps->text_size = size;
    }
    memcpy(ps->text + ps->text_len, ch, (apr_size_t)len);
    ps->text_len += (apr_size_t)len;
}

/* ---- the document ----------------------------------------------------------------------------- */

/* Why the document was not read into a model, or NULL. */
static const char *papi_parse_error(papi_procpool_parser *ps, xmlParserCtxtPtr ctxt)
{
    if (ps->elements > PAPI_PROCPOOL_MAX_ELEMENTS)
        return apr_psprintf(ps->p, "pool.xml has more than %d elements: refused",
                            PAPI_PROCPOOL_MAX_ELEMENTS);
    if (ps->has_dtd)
        return "pool.xml has a document type declaration (<!DOCTYPE>), which Passenger never "
               "writes: refused, so that no entity is ever declared or loaded";
    if (ps->why)
        return ps->why;
    if (!ctxt->wellFormed)
        return ps->xml_error ? apr_pstrcat(ps->p, "pool.xml is not well-formed XML: ",
                                           ps->xml_error, NULL)
                             : "pool.xml is not well-formed XML";
    if (!ps->procpool)
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

const char *papi_procpool_parse(apr_pool_t *p, const char *xml, apr_size_t len,
                                papi_procpool **procpool)
{
    papi_procpool_parser ps;
    xmlParserCtxtPtr ctxt;
    xmlSAXHandler *sax;
    xmlDocPtr doc;
    const char *why, *nul;

    *procpool = NULL;
    if (!len)
        return "pool.xml is empty";
    if (len > INT_MAX)
        return "pool.xml is too large for libxml2";
    /* libxml2 takes a NUL after the root element for the end of the input and ignores the rest:
     * refused outright, so nothing is ever cut short silently. */
    if ((nul = memchr(xml, '\0', len)) != NULL)
        return apr_psprintf(p, "pool.xml has a NUL byte at offset %" APR_SIZE_T_FMT,
                            (apr_size_t)(nul - xml));
    /* A context of our own per call: its callbacks and state are this thread's alone. Its SAX
     * handler is ours alone too: no tree is built, the model is read as the parser goes. */
    if (!(ctxt = xmlNewParserCtxt()))
        return "cannot allocate an XML parser";
    memset(&ps, 0, sizeof(ps));
    ps.p = p;
    ps.text_size = PAPI_PROCPOOL_TEXT_START;
    ps.text = apr_palloc(p, ps.text_size);
    ctxt->_private = &ps;
    sax = ctxt->sax;
    memset(sax, 0, sizeof(*sax));
    sax->initialized = XML_SAX2_MAGIC;
    sax->serror = papi_xml_error;
    sax->internalSubset = papi_xml_doctype;
    sax->startElementNs = papi_sax_start;
    sax->endElementNs = papi_sax_end;
    sax->characters = papi_sax_text;
    sax->ignorableWhitespace = papi_sax_text;
    sax->cdataBlock = papi_sax_text;
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL,
                            papi_is_ascii(xml, len) ? PAPI_PROCPOOL_ASCII_ENCODING
                                                    : PAPI_PROCPOOL_ENCODING,
                            PAPI_PROCPOOL_XML_OPTIONS);
    if (doc)        /* never, without a startDocument callback */
        xmlFreeDoc(doc);
    why = papi_parse_error(&ps, ctxt);
    xmlFreeParserCtxt(ctxt);
    if (!why)
        *procpool = ps.procpool;
    return why;
}
