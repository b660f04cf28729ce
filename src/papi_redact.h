/* The module's one scrubber. What read-only mode must never show from a core's answer: the group
 * API key (which is also each process's connect password) wherever pool.xml and pool.txt carry
 * it, the addresses of the processes' own sockets, and the end users' data: the query strings of
 * their requests in flight and their sticky session ids. And, in every mode, the connect password
 * wherever an application process's answer echoes it. */
#ifndef PAPI_REDACT_H
#define PAPI_REDACT_H

#include "papi_http.h"

#include <apr_pools.h>

#define PAPI_REDACTED "[REDACTED]"

/* The answer to core_path (without query) with secrets replaced by PAPI_REDACTED; body itself
 * when the path carries none. pool.xml: the text of every <api_key>, <secret> and
 * <sticky_session_id>, and every <sockets> element (removed). pool.txt: the values of
 * "Password:" and "URL :" lines. server.json: what follows the first '?' of every "path" member,
 * and every "sticky_session_id" member's value (then the string PAPI_REDACTED); the rest byte
 * for byte, so valid JSON stays valid and of the same shape. An element, string or value that
 * never ends ends the answer there: what cannot be read cannot be shown. */
const char *papi_redact(apr_pool_t *p, const char *core_path, const char *body, apr_size_t len,
                        apr_size_t *out_len);

/* Every occurrence of secret in resp's body and header values replaced by PAPI_REDACTED, before
 * anything of it is relayed. Passenger's Ruby loader hands a process's connect password (its
 * group's API key) to the app as HTTP_X_PASSENGER_CONNECT_PASSWORD, so any page that shows its
 * request headers would send it back. */
void papi_redact_secret(apr_pool_t *p, papi_http_response *resp, const char *secret);

#endif
