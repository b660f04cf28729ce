/* application/x-www-form-urlencoded, as an HTML form posts it and as a query string carries it:
 * name=value pairs joined by '&', '+' for a space, %XX for any other byte. Decoded strictly, for
 * the dashboard's action forms and its query. */
#ifndef PAPI_FORM_H
#define PAPI_FORM_H

#include <apr_pools.h>
#include <apr_tables.h>

/* The longest decoded name or value taken. */
#define PAPI_FORM_FIELD_MAX 1024

typedef struct papi_form_field {
    const char *name;   /* decoded, NUL-terminated */
    const char *value;  /* decoded; "" for a pair without '=' */
} papi_form_field;

/* Decodes data[0..len) into *fields (papi_form_field), at most max of them. NULL, or why it is
 * refused: an empty pair or name, a '%' not before two hex digits, a decoded name or value that
 * is not UTF-8, holds a control character, or is longer than PAPI_FORM_FIELD_MAX; a name given
 * twice; more than max pairs. */
const char *papi_form_parse(apr_pool_t *p, const char *data, apr_size_t len, int max,
                            apr_array_header_t **fields);

/* The value of the field called name, or NULL. */
const char *papi_form_get(const apr_array_header_t *fields, const char *name);

/* s encoded as a form value: letters, digits and "-._*" as they are, ' ' as '+', every other
 * byte as %XX. */
const char *papi_form_encode(apr_pool_t *p, const char *s);

#endif
