#include "papi_procpool.h"
#include "papi_chars.h"
#include "papi_utf8.h"
#include "papi_xml.h"

#include <apr_strings.h>
#include <stddef.h>
#include <string.h>

/* Far beyond any real pool, yet a hostile core cannot make the model huge (the body itself is
 * already capped by PassengerApiLimitAnswer). A Ruby process has two sockets. */
#define PAPI_PROCPOOL_MAX_GROUPS 5000
#define PAPI_PROCPOOL_MAX_PROCESSES 5000
#define PAPI_PROCPOOL_MAX_SOCKETS (4 * PAPI_PROCPOOL_MAX_PROCESSES)
/* Elements are counted as they come, so a document of tiny elements (8 MiB of them) is refused
 * early. A real element is ~40 per process (sockets included): the cap leaves room for the most
 * processes the model takes. */
#define PAPI_PROCPOOL_MAX_ELEMENTS 250000

/* How much of a document's element name an error string quotes. */
#define PAPI_PROCPOOL_QUOTE_MAX 160

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

/* Element names remembered per parse with the field of a container each one is, in a table of
 * twice as many slots (Passenger's containers have about 60 fields). */
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
    int last;                   /* the index of its last child field, PAPI_FIELD_FIRST before one */
} papi_frame;

/* A container has 64 fields at the most (its seen bits); the index after them stands for none. */
#define PAPI_FIELDS_MAX 64
#define PAPI_FIELD_FIRST (PAPI_FIELDS_MAX + 1)

/* A name met in the document (not NUL-terminated) and the index of the field it is. */
typedef struct papi_field_seen {
    const char *name;
    apr_size_t len;
    int index;
} papi_field_seen;

/* One parse, read as papi_xml goes (no tree is built): the model so far, where the reader is in
 * it, and the running totals checked against the caps. */
typedef struct papi_procpool_parser {
    apr_pool_t *p;
    int elements;               /* seen so far */
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
    /* The names met so far (as written in the document) with the field of a container each one
     * is: 16,000 processes' fields found with a hash and one memcmp each. */
    struct {
        const char *name;
        apr_size_t len;
        papi_container what;
        int index;
    } names[PAPI_NAME_SLOTS];
    int nnames;
    /* The child field that followed each field of a container last time: Passenger writes every
     * process's fields in one order, so the next name is nearly always that one. */
    papi_field_seen next[PAPI_IN_COUNT][PAPI_FIELD_FIRST + 1];
} papi_procpool_parser;

/* ---- text ------------------------------------------------------------------------------------- */

/* Passenger wrote each byte of a string as its own character reference, which XML reads as one
 * character each: the bytes are put back together when they are UTF-8, else they are read as
 * ISO-8859-1, as a text with characters beyond U+00FF is taken as it is (then the references were
 * not bytes). */
static const char *papi_decode_text(apr_pool_t *p, const papi_xml_text *t)
{
    const unsigned char *u = (const unsigned char *)t->data;
    apr_size_t i, n = 0, high = 0;
    char *utf8;

    for (i = 0; !t->wide && i < t->len; i++)
        high += u[i] >= 0x80;
    if (t->wide || !high || papi_utf8_valid(t->data, t->len))
        return apr_pstrmemdup(p, t->data, t->len);
    utf8 = apr_palloc(p, t->len + high + 1);
    for (i = 0; i < t->len; i++) {
        if (u[i] < 0x80)
            utf8[n++] = (char)u[i];
        else {
            utf8[n++] = (char)(0xC0 | (u[i] >> 6));
            utf8[n++] = (char)(0x80 | (u[i] & 0x3F));
        }
    }
    utf8[n] = '\0';
    return utf8;
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

/* Something from the document fit for an error string: valid UTF-8, no control
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

/* A frame marks the fields it has seen in one 64-bit word (seen). */
_Static_assert(PAPI_FIELD_COUNT(papi_process_fields) <= PAPI_FIELDS_MAX, "too many fields");
_Static_assert(PAPI_FIELD_COUNT(papi_group_fields) <= PAPI_FIELDS_MAX, "too many fields");
_Static_assert(PAPI_FIELD_COUNT(papi_info_fields) <= PAPI_FIELDS_MAX, "too many fields");
_Static_assert(PAPI_FIELD_COUNT(papi_socket_fields) <= PAPI_FIELDS_MAX, "too many fields");

/* The field's text, read into obj; text NULL: the field "not given", as when pool.xml has no
 * such element. */
static void papi_field_set(apr_pool_t *p, const papi_field *f, const papi_xml_text *text,
                           void *obj)
{
    void *at = (char *)obj + f->offset;

    switch (f->kind) {
    case PAPI_FIELD_STRING:
        *(const char **)at = text ? papi_decode_text(p, text) : NULL;
        break;
    case PAPI_FIELD_NUMBER:
        *(apr_int64_t *)at = text ? papi_number(text->data, text->len) : PAPI_PROCPOOL_NONE;
        break;
    case PAPI_FIELD_FLAG:
        *(int *)at = text ? papi_flag(text->data, text->len) : -1;
        break;
    case PAPI_FIELD_PRESENT:
        *(int *)at = text != NULL;
        break;
    }
}

/* A new object of size bytes with every field of the table "not given". */
static void *papi_new(apr_pool_t *p, apr_size_t size, const papi_field *fields, int count)
{
    void *obj = apr_pcalloc(p, size);
    int i;

    for (i = 0; i < count; i++)
        papi_field_set(p, &fields[i], NULL, obj);
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

/* ---- reading as papi_xml goes ----------------------------------------------------------------- */

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
    f->last = PAPI_FIELD_FIRST;
}

static int papi_name_is(const char *name, apr_size_t len, const char *s)
{
    return len && *name == *s && !strncmp(s, name, len) && s[len] == '\0';
}

static const char *papi_open_info(papi_procpool_parser *ps, const char *name, apr_size_t len)
{
    if (!papi_name_is(name, len, "info"))
        return apr_psprintf(ps->p, "pool.xml's root element is <%s>, not <info>",
                            papi_quote(ps->p, apr_pstrmemdup(ps->p, name, len)));
    ps->procpool = papi_procpool_new(ps->p);
    papi_open(ps, PAPI_IN_INFO, papi_info_fields, PAPI_FIELD_COUNT(papi_info_fields), ps->procpool);
    return NULL;
}

/* default="true". */
static int papi_is_default(const papi_xml_attr *attrs, int nattrs)
{
    int i;

    for (i = 0; i < nattrs; i++)
        if (papi_name_is(attrs[i].name, attrs[i].name_len, "default"))
            return !attrs[i].value.wide && !strcmp(attrs[i].value.data, "true");
    return 0;
}

/* A group, process or socket opens: it joins its parent's list at once (any objection later
 * throws the whole model away). */
static const char *papi_open_group(papi_procpool_parser *ps, const papi_xml_attr *attrs,
                                   int nattrs)
{
    papi_procpool_group *group;

    if (++ps->groups > PAPI_PROCPOOL_MAX_GROUPS)
        return apr_psprintf(ps->p, "pool.xml lists more than %d groups", PAPI_PROCPOOL_MAX_GROUPS);
    group = papi_procpool_group_new(ps->p);
    APR_ARRAY_PUSH(ps->procpool->groups, papi_procpool_group *) = group;
    papi_open(ps, PAPI_IN_GROUP, papi_group_fields, PAPI_FIELD_COUNT(papi_group_fields), group);
    group->is_default = papi_is_default(attrs, nattrs);
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
 * before (by a hash of the name and one memcmp), else by comparing with each field's. */
static int papi_field_lookup(papi_procpool_parser *ps, const papi_frame *top, const char *name,
                             apr_size_t len)
{
    apr_uint32_t h = 2166136261u ^ (apr_uint32_t)top->what;
    unsigned slot;
    apr_size_t k;
    int i;

    for (k = 0; k < len; k++)
        h = (h ^ (unsigned char)name[k]) * 16777619u;
    /* Open addressing: the table is never more than half full, so an empty slot ends a probe. */
    for (slot = h % PAPI_NAME_SLOTS; ps->names[slot].name; slot = (slot + 1) % PAPI_NAME_SLOTS)
        if (ps->names[slot].what == top->what && ps->names[slot].len == len
            && !memcmp(ps->names[slot].name, name, len))
            return ps->names[slot].index;
    for (i = 0; i < top->count && !papi_name_is(name, len, top->fields[i].name); i++)
        ;
    if (ps->nnames < PAPI_NAMES_KEPT) {
        ps->nnames++;
        ps->names[slot].name = name;
        ps->names[slot].len = len;
        ps->names[slot].what = top->what;
        ps->names[slot].index = i;
    }
    return i;
}

/* papi_field_lookup, after a look at the field that followed the previous one last time. */
static int papi_field_index(papi_procpool_parser *ps, papi_frame *top, const char *name,
                            apr_size_t len)
{
    papi_field_seen *next = &ps->next[top->what][top->last];

    if (!next->name || next->len != len || memcmp(next->name, name, len)) {
        next->name = name;
        next->len = len;
        next->index = papi_field_lookup(ps, top, name, len);
    }
    return top->last = next->index;
}

/* A field of the container opens: the first of a name is read (*want_text), unknown ones are
 * for later versions of Passenger. */
static void papi_open_field(papi_procpool_parser *ps, papi_frame *top, const char *name,
                            apr_size_t len, int *want_text)
{
    static const papi_xml_text present = { "", 0, 0 };
    int i = papi_field_index(ps, top, name, len);

    if (i == top->count || (top->seen & ((apr_uint64_t)1 << i)))
        return;
    top->seen |= (apr_uint64_t)1 << i;
    if (top->fields[i].kind == PAPI_FIELD_PRESENT) {    /* its text does not count */
        papi_field_set(ps->p, &top->fields[i], &present, top->obj);
        return;
    }
    ps->field = &top->fields[i];
    ps->field_obj = top->obj;
    ps->field_depth = ps->depth;
    *want_text = 1;
}

/* A child element of the container top: a list, an item of a list, or a field. The lists of a
 * container are its children named so (every <processes> of a group, every <process> in each),
 * never elements further down. */
static const char *papi_open_child(papi_procpool_parser *ps, papi_frame *top, const char *name,
                                   apr_size_t len, const papi_xml_attr *attrs, int nattrs,
                                   int *want_text)
{
    static const char *const lists[PAPI_IN_COUNT] = {
        [PAPI_IN_INFO] = "supergroups", [PAPI_IN_SUPERGROUPS] = "supergroup",
        [PAPI_IN_SUPERGROUP] = "group", [PAPI_IN_GROUP] = "processes",
        [PAPI_IN_PROCESSES] = "process", [PAPI_IN_PROCESS] = "sockets",
        [PAPI_IN_SOCKETS] = "socket",
    };

    if (!lists[top->what] || !papi_name_is(name, len, lists[top->what])) {
        if (top->fields)
            papi_open_field(ps, top, name, len, want_text);
        return NULL;
    }
    switch (top->what) {
    case PAPI_IN_SUPERGROUP:
        return papi_open_group(ps, attrs, nattrs);
    case PAPI_IN_PROCESSES:
        return papi_open_process(ps, top[-1].obj);
    case PAPI_IN_SOCKETS:
        return papi_open_socket(ps, top[-1].obj);
    default:    /* a list: the container named after what holds it */
        papi_open(ps, (papi_container)(top->what + 1), NULL, 0, NULL);
        return NULL;
    }
}

static const char *papi_element_open(void *ctx, const char *name, apr_size_t len,
                                     const papi_xml_attr *attrs, int nattrs, int *want_text)
{
    papi_procpool_parser *ps = ctx;
    papi_frame *top;

    if (++ps->elements > PAPI_PROCPOOL_MAX_ELEMENTS)
        return apr_psprintf(ps->p, "pool.xml has more than %d elements: refused",
                            PAPI_PROCPOOL_MAX_ELEMENTS);
    ps->depth++;
    if (ps->depth == 1)
        return papi_open_info(ps, name, len);
    if (!ps->field && ps->nframes > 0
        && (top = &ps->frames[ps->nframes - 1])->depth == ps->depth - 1)
        return papi_open_child(ps, top, name, len, attrs, nattrs, want_text);
    return NULL;
}

static const char *papi_element_close(void *ctx, const papi_xml_text *text)
{
    papi_procpool_parser *ps = ctx;

    if (ps->field && ps->depth == ps->field_depth) {
        papi_field_set(ps->p, ps->field, text, ps->field_obj);
        ps->field = NULL;
    }
    else if (ps->nframes > 0 && ps->frames[ps->nframes - 1].depth == ps->depth)
        ps->nframes--;
    ps->depth--;
    return NULL;
}

/* ---- the document ----------------------------------------------------------------------------- */

const char *papi_procpool_parse(apr_pool_t *p, const char *xml, apr_size_t len,
                                papi_procpool **procpool)
{
    papi_procpool_parser *ps;
    papi_xml_reader reader = { NULL, papi_element_open, papi_element_close };
    const char *why, *nul;

    *procpool = NULL;
    if (!len)
        return "pool.xml is empty";
    /* XML allows no NUL anywhere; said with its place, so nothing is ever cut short silently. */
    if ((nul = memchr(xml, '\0', len)) != NULL)
        return apr_psprintf(p, "pool.xml has a NUL byte at offset %" APR_SIZE_T_FMT,
                            (apr_size_t)(nul - xml));
    reader.ctx = ps = apr_pcalloc(p, sizeof(*ps));
    ps->p = p;
    switch (papi_xml_read(p, xml, len, &reader, &why)) {
    case PAPI_XML_OK:
        *procpool = ps->procpool;
        return NULL;
    case PAPI_XML_DOCTYPE:
        return "pool.xml has a document type declaration (<!DOCTYPE>), which Passenger never "
               "writes: refused, so that no entity is ever declared or loaded";
    case PAPI_XML_MALFORMED:
        return apr_pstrcat(p, "pool.xml is not well-formed XML: ", papi_quote(p, why), NULL);
    default:
        return why;
    }
}
